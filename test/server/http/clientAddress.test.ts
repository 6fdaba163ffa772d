import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { clientAddress, proxyTrust } from '../../../server/http/clientAddress.ts';
import { createHttpServer } from '../../../server/http/httpServer.ts';

/** A request as Node hands it over: the TCP peer's address and the headers as received. */
const requestFrom = (peer: string | undefined, forwardedFor?: string) =>
  ({ socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage;

describe('the client address', () => {
  it('is the TCP peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    const none = proxyTrust([]);
    expect(clientAddress(requestFrom('203.0.113.7'), none)).toBe('203.0.113.7');
    expect(clientAddress(requestFrom('127.0.0.1', '198.51.100.1'), none)).toBe('127.0.0.1');
  });

  it('is the address a trusted proxy wrote, read from the right', () => {
    const trust = proxyTrust(['127.0.0.1']);
    expect(clientAddress(requestFrom('127.0.0.1', '198.51.100.1'), trust)).toBe('198.51.100.1');
    // The client sent its own (forged) header; the proxy appended the address it saw.
    expect(clientAddress(requestFrom('127.0.0.1', '10.9.9.9, 198.51.100.1'), trust)).toBe('198.51.100.1');
    // The proxy wrote no header: the proxy is all there is to go by.
    expect(clientAddress(requestFrom('127.0.0.1'), trust)).toBe('127.0.0.1');
  });

  it('walks past every trusted hop (addresses and CIDR ranges) to the first one not trusted', () => {
    const trust = proxyTrust(['127.0.0.1', '10.0.0.0/8']);
    expect(clientAddress(requestFrom('127.0.0.1', '1.2.3.4, 198.51.100.1, 10.1.2.3, 10.4.5.6'), trust)).toBe('198.51.100.1');
    // Every hop trusted: the leftmost address is the client.
    expect(clientAddress(requestFrom('127.0.0.1', '10.1.2.3, 10.4.5.6'), trust)).toBe('10.1.2.3');
  });

  it('ignores X-Forwarded-For from a peer that is not trusted (a forged header changes nothing)', () => {
    const trust = proxyTrust(['127.0.0.1']);
    expect(clientAddress(requestFrom('127.0.0.2', '198.51.100.1'), trust)).toBe('127.0.0.2');
    expect(clientAddress(requestFrom('203.0.113.9', '127.0.0.1, 198.51.100.1'), trust)).toBe('203.0.113.9');
  });

  it('matches IPv6 ranges and IPv4 proxies seen as IPv4-mapped IPv6 peers', () => {
    expect(clientAddress(requestFrom('::ffff:127.0.0.1', '198.51.100.1'), proxyTrust(['127.0.0.1']))).toBe('198.51.100.1');
    expect(clientAddress(requestFrom('fd00::5', '2001:db8::1'), proxyTrust(['fd00::/8']))).toBe('2001:db8::1');
    expect(clientAddress(requestFrom('::1', '2001:db8::1'), proxyTrust(['127.0.0.1']))).toBe('::1');
  });

  it('is "unknown" for a request whose socket is already gone', () => {
    expect(clientAddress(requestFrom(undefined, '198.51.100.1'), proxyTrust(['127.0.0.1']))).toBe('unknown');
  });
});

/** GET `path` on 127.0.0.1:`port` from `localAddress`, with an X-Forwarded-For header when given; the body. */
function getFrom(port: number, localAddress: string, forwardedFor?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
    http
      .get({ host: '127.0.0.1', port, path: '/ip', localAddress, headers, agent: false }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe("Fastify's request.ip", () => {
  it('follows the same rule as the socket.io handshake', async () => {
    const { http: server } = await createHttpServer(pino({ level: 'silent' }), proxyTrust(['127.0.0.1']));
    server.get('/ip', async (request) => request.ip);
    await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = server.server.address() as AddressInfo;
      expect(await getFrom(port, '127.0.0.1', '10.9.9.9, 198.51.100.1')).toBe('198.51.100.1');
      expect(await getFrom(port, '127.0.0.1')).toBe('127.0.0.1');
      expect(await getFrom(port, '127.0.0.2', '198.51.100.1')).toBe('127.0.0.2');
    } finally {
      await server.close();
    }
  });
});
