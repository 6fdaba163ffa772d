// The client's address, one rule for HTTP (Fastify's request.ip) and the socket.io handshake (the
// per-address connection cap): the TCP peer, unless that peer is a trusted reverse proxy
// (TRUST_PROXY). Then X-Forwarded-For is read from the right, past every trusted hop, and the
// first address not trusted is the client. A header from a peer that is not trusted is never read,
// so a forged one changes nothing. @fastify/proxy-addr is the walk Fastify itself uses.
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/** Whether the address at `hop` (0: the TCP peer, 1: the rightmost X-Forwarded-For entry, …) is a trusted proxy. */
export type ProxyTrust = (address: string, hop: number) => boolean;

/** Trusts exactly these addresses and CIDR ranges (IPv4-mapped IPv6 peers included); none: nobody. */
export function proxyTrust(trustedProxies: readonly string[]): ProxyTrust {
  return trustedProxies.length === 0 ? () => false : proxyAddr.compile([...trustedProxies]);
}

/** The client's address for this request under `trust`. */
export function clientAddress(request: IncomingMessage, trust: ProxyTrust): string {
  const peer = request.socket.remoteAddress;
  if (peer === undefined) return 'unknown';
  return trust(peer, 0) ? proxyAddr(request, trust) : peer;
}
