// socket.io-client from Node, speaking the page protocol, for signalling tests.
import { io, type Socket } from 'socket.io-client';
import { SIGNALING_NAMESPACE, type AckResult } from '../../shared/protocol.ts';

export type RawSocket = Socket;

/** A socket.io connection that never reconnects; `localAddress` picks the loopback address it comes from. */
export function connectRaw(url: string, token: unknown, options: { namespace?: string; localAddress?: string; forwardedFor?: string } = {}): RawSocket {
  const { namespace = SIGNALING_NAMESPACE, localAddress, forwardedFor } = options;
  return io(`${url}${namespace}`, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(localAddress ? { localAddress } : {}),
    ...(forwardedFor ? { extraHeaders: { 'x-forwarded-for': forwardedFor } } : {}),
  } as Parameters<typeof io>[1]);
}

/** Resolves once connected, or rejects with the connect_error (message and data). */
export function connected(socket: RawSocket): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => reject(error));
  });
}

export async function connect(url: string, token: unknown): Promise<RawSocket> {
  return connected(connectRaw(url, token));
}

/** Sends any event with any arguments and waits for the ack. */
export async function request(socket: RawSocket, event: string, ...args: unknown[]): Promise<AckResult<unknown>> {
  return (await socket.timeout(10_000).emitWithAck(event, ...args)) as AckResult<unknown>;
}
