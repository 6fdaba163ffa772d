// Clients an attacker would write: raw HTTP requests (percent-encoded and absolute-form targets
// that fetch() would normalise away), engine.io polling handshakes from a chosen source address,
// and socket.io connections from a chosen loopback address (127.0.0.0/8 is all loopback on Linux,
// so a flood can come from another address than the pages under test).
import http from 'node:http';
import net from 'node:net';
import type { Socket } from 'socket.io-client';
import { connectRaw } from '../signaling/signalingClient.ts';
import { SIGNALING_NAMESPACE } from '../../shared/protocol.ts';

export interface RawResponse {
  status: number;
  body: string;
}

/** Sends `target` exactly as given in the request line (no URL normalisation on the way). */
export function rawRequest(port: number, method: string, target: string, headers: Record<string, string> = {}, body = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const lines = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (body) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (data += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
  });
}

/** One engine.io long-polling request from `localAddress`. */
export function polling(port: number, localAddress: string, query: string, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, localAddress, method: body === undefined ? 'GET' : 'POST', path: `/socket.io/?EIO=4&transport=polling${query}`, agent: false, headers: body === undefined ? {} : { 'content-type': 'text/plain;charset=UTF-8' } },
      (response) => {
        let data = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (data += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: data }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** An engine.io session opened by polling (no namespace joined yet); undefined when refused. */
export async function openEngineSession(port: number, localAddress: string): Promise<string | undefined> {
  const handshake = await polling(port, localAddress, '');
  if (handshake.status !== 200) return undefined;
  return (JSON.parse(handshake.body.slice(1)) as { sid: string }).sid;
}

/** Whether the server still knows the engine.io session (a closed one answers 400). */
export async function engineSessionOpen(port: number, localAddress: string, sid: string): Promise<boolean> {
  const poll = await polling(port, localAddress, `&sid=${sid}`);
  return poll.status === 200 && !poll.body.startsWith('1');
}

/** A socket.io connection to the signalling namespace from `localAddress`, never reconnecting. */
export function signalingFrom(url: string, localAddress: string, token: unknown, namespace = SIGNALING_NAMESPACE): Socket {
  return connectRaw(url, token, { namespace, localAddress });
}

export type Outcome = { kind: 'connected'; socket: Socket } | { kind: 'refused'; code: string | undefined; message: string };

/** Connects and reports how the server answered (bounded by `timeoutMs`). */
export function outcomeOf(socket: Socket, timeoutMs = 10_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ kind: 'refused', code: 'timeout', message: 'no answer' }), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve({ kind: 'connected', socket });
    });
    socket.once('connect_error', (error: Error & { data?: { code?: string } }) => {
      clearTimeout(timer);
      socket.close();
      resolve({ kind: 'refused', code: error.data?.code, message: error.message });
    });
  });
}
