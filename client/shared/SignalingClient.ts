import { io, type Socket } from 'socket.io-client';
import {
  SIGNALING_NAMESPACE,
  type AckResult,
  type ClientToServerEvents,
  type NotificationName,
  type ProtocolError,
  type Notifications,
  type RequestName,
  type RequestPayload,
  type RequestResults,
  type ServerToClientEvents,
} from '../../shared/protocol.ts';

export class RequestError extends Error {
  constructor(
    readonly code: ProtocolError['code'] | 'timeout' | 'disconnected',
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

const RESTART_DELAY_MS = 2000;

/** Errors worth retrying: the server or its media workers were momentarily unavailable. */
export function isTransient(error: unknown): boolean {
  return error instanceof RequestError && (error.code === 'unavailable' || error.code === 'timeout' || error.code === 'internal');
}

/** The page's signalling connection: typed requests (promise per ack) and notifications. */
export class SignalingClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  #closed = false;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(token: string) {
    // Same origin; the role token travels in the handshake body, never in a URL.
    // Every second the page is away is cut out of the recording: while the service restarts
    // (a deploy, a crash) try again every 0.5–1 s rather than socket.io's default of up to 5 s.
    this.socket = io(SIGNALING_NAMESPACE, { auth: { token }, transports: ['websocket', 'polling'], reconnectionDelay: 500, reconnectionDelayMax: 1000 });
    // socket.io reconnects by itself after a lost connection, but not after the server closed it,
    // which a service shutting down for a restart does: keep trying until it is back. A page
    // that must not come back (interview ended, session replaced) calls close() first.
    this.socket.on('disconnect', (reason) => {
      if (reason === 'io server disconnect' && !this.#closed) this.restartSoon(1000);
    });
    // A fresh session came up meanwhile (e.g. after a media reset): a restart asked for by an
    // older one would only tear it down.
    this.socket.on('connect', () => this.#cancelRestart());
  }

  request<N extends RequestName>(name: N, payload: RequestPayload<N>, timeoutMs = 15_000): Promise<RequestResults[N]> {
    return new Promise((resolve, reject) => {
      if (!this.socket.connected) return reject(new RequestError('disconnected', 'not connected to the server'));
      const withTimeout = this.socket.timeout(timeoutMs);
      const emit = withTimeout.emit as unknown as (
        name: N,
        payload: RequestPayload<N>,
        ack: (error: Error | null, result: AckResult<RequestResults[N]>) => void,
      ) => void;
      emit.call(withTimeout, name, payload, (error, result) => {
        if (error) return reject(new RequestError('timeout', `${name}: no answer from the server`));
        if (result.ok) resolve(result.data);
        else reject(new RequestError(result.error.code, result.error.message));
      });
    });
  }

  on<N extends NotificationName>(name: N, handler: (payload: Notifications[N]) => void): void {
    (this.socket.on as (name: N, handler: (payload: Notifications[N]) => void) => void).call(this.socket, name, handler);
  }

  /**
   * Sets the session up again from scratch (new socket session, new transports) after a delay:
   * the way back from a media server restart or a transient failure.
   */
  restartSoon(delayMs = RESTART_DELAY_MS): void {
    this.#cancelRestart();
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.socket.active) this.socket.disconnect().connect();
      // Closed by the server (it was shutting down): connect again, socket.io retries from there.
      else if (!this.#closed) this.socket.connect();
    }, delayMs);
  }

  #cancelRestart(): void {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
  }

  close(): void {
    this.#closed = true;
    this.#cancelRestart();
    this.socket.disconnect();
  }
}
