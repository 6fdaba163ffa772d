import { io, type Socket } from 'socket.io-client';
import { SIGNALING_NAMESPACE } from '../../shared/vocabulary.ts';
import type {
  AckResult,
  ClientToServerEvents,
  NotificationName,
  ProtocolError,
  Notifications,
  RequestName,
  RequestPayload,
  RequestResults,
  HandshakeErrorData,
  ServerToClientEvents,
} from '../../shared/protocol.ts';
import { NodeOrigins } from './NodeOrigins.ts';

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
/**
 * Reconnecting after a lost connection. Every second the page is away is cut out of the recording,
 * and a service restart (a deploy, a crash under systemd) is back within a few seconds: for the
 * first FAST_RECONNECT_FOR_MS try again every 0.25–0.5 s, so the page is back within half a second
 * of the service. A longer outage is not a restart: then back off to once every 2.5–5 s, so pages
 * do not hammer a service that is down for long, nor all arrive at once when it returns. The wait
 * before each attempt is drawn at random within the bounds (socket.io's own jitter is lost once
 * its exponential backoff reaches the cap, and every page would retry in step).
 */
const FAST_RECONNECT_FOR_MS = 15_000;
const FAST_RECONNECT_MS = { min: 250, max: 500 };
const SLOW_RECONNECT_MS = { min: 2500, max: 5000 };
/** A server that closed the connection (shutting down for a restart): first attempt this soon. */
const SERVER_CLOSED_RETRY_MS = 250;
/** A live interview whose node is gone is taken over within seconds: ask again this often meanwhile. */
const TAKEOVER_RETRY_MS = 500;

/**
 * Why the transport-level handshake was refused, when the server said (engine.io answers a refused
 * polling handshake 403 `{"code":4,"message":"<reason>"}`; e.g. `limit_reached` for the per-address
 * cap). Undefined for a network failure, or a refused WebSocket (a browser hides its answer).
 */
export function handshakeRefusal(error: Error): string | undefined {
  const { description, context } = error as Error & { description?: unknown; context?: { responseText?: unknown } };
  if (description !== 403 || typeof context?.responseText !== 'string') return undefined;
  try {
    const body = JSON.parse(context.responseText) as { message?: unknown };
    return typeof body.message === 'string' ? body.message : undefined;
  } catch {
    return undefined;
  }
}

/** Errors worth retrying: the server or its media workers were momentarily unavailable. */
export function isTransient(error: unknown): boolean {
  return error instanceof RequestError && (error.code === 'unavailable' || error.code === 'timeout' || error.code === 'internal');
}

/** The page's signalling connection: typed requests (promise per ack) and notifications. */
export class SignalingClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  /** Which node the socket connects to: this page's origin, or the node that owns the interview now. */
  readonly #origins: NodeOrigins;
  #closed = false;
  /** When the connection was lost (the outage the reconnection pace follows); undefined while connected. */
  #disconnectedAt: number | undefined;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  /** `origin`: the service's (the page's own, or the candidate link's when embedded in a host page). */
  constructor(token: string, origin = location.origin) {
    this.#origins = new NodeOrigins(origin);
    // The role token travels in the handshake body, never in a URL.
    // A WebSocket that fails (a proxy that blocks it, or a refusal, which a browser does not let a
    // page read) is tried again over HTTP long-polling, whose refusal says why (see handshakeRefusal).
    this.socket = io(`${origin}${SIGNALING_NAMESPACE}`, {
      auth: { token },
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      // The first attempt after a loss 0.125–0.375 s later (socket.io's jitter of 0.5); the next
      // waits are set before each attempt (#paceReconnection).
      reconnectionDelay: FAST_RECONNECT_MS.min,
      reconnectionDelayMax: FAST_RECONNECT_MS.max,
    });
    this.socket.io.on('reconnect_attempt', () => this.#paceReconnection());
    // socket.io reconnects by itself after a lost connection, but not after the server closed it,
    // which a service shutting down for a restart does: keep trying until it is back. A page
    // that must not come back (interview ended, session replaced) calls close() first.
    this.socket.on('disconnect', (reason) => {
      this.#disconnectedAt ??= Date.now();
      if (reason === 'io server disconnect' && !this.#closed) this.restartSoon(SERVER_CLOSED_RETRY_MS);
    });
    // A fresh session came up meanwhile (e.g. after a media reset): a restart asked for by an
    // older one would only tear it down.
    this.socket.on('connect', () => {
      this.#disconnectedAt = undefined;
      this.#cancelRestart();
    });
    this.socket.on('connect_error', (error) => this.#onConnectError(error as Error & { data?: Partial<HandshakeErrorData> }));
    // This node hands the interview over before it shuts down: follow it now, not after the close.
    this.on('interviewMoved', ({ ownerUrl }) => {
      if (this.#closed) return;
      this.#moveTo(ownerUrl);
      this.socket.disconnect().connect();
    });
  }

  /**
   * Sets the wait before the next attempt, should this one fail: socket.io computes it from its
   * exponential backoff capped by reconnectionDelayMax, and from the second attempt on the backoff
   * is past the cap, so the cap drawn here is the wait.
   */
  #paceReconnection(): void {
    const outageMs = Date.now() - (this.#disconnectedAt ??= Date.now());
    const { min, max } = outageMs < FAST_RECONNECT_FOR_MS ? FAST_RECONNECT_MS : SLOW_RECONNECT_MS;
    this.socket.io.reconnectionDelayMax(min + Math.random() * (max - min));
  }

  /** The origin the socket connects to now (the end page and the like live there too). */
  get origin(): string {
    return this.#origins.current;
  }

  /** Cluster mode: the live nodes a join named, where the interview is looked for if this node goes. */
  knowNodes(urls: readonly string[]): void {
    this.#origins.know(urls);
  }

  /**
   * Cluster mode. A node that does not own the interview refuses the handshake and names the owner:
   * go there at once. One whose interview is being taken over (its owner died) says to ask again
   * soon. A node that cannot be reached at all may be the dead one: the next attempt goes to the
   * next known node, which answers for the owner. On a single node there is no other origin, and
   * socket.io's own reconnection goes on as before.
   */
  #onConnectError(error: Error & { data?: Partial<HandshakeErrorData> }): void {
    if (this.#closed) return;
    const { code, ownerUrl } = error.data ?? {};
    if (code === 'unavailable') {
      // Refused by a middleware: socket.io does not retry by itself.
      if (ownerUrl) this.#moveTo(ownerUrl);
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => {
        if (!this.#closed && !this.socket.connected) this.socket.connect();
      }, ownerUrl ? 0 : TAKEOVER_RETRY_MS);
    } else if (code === undefined) {
      // The transport failed: socket.io retries by itself, against the origin set here.
      const next = this.#origins.next();
      if (next !== undefined) this.#moveTo(next);
    }
  }

  #moveTo(origin: string): void {
    if (!this.#origins.moveTo(origin)) return;
    // The manager opens every (re)connection to its uri: the next one goes to the new origin. It is
    // not part of socket.io-client's typed surface, but a manager per origin would mean a socket
    // per origin, and every page's listeners moved from one to the next.
    (this.socket.io as unknown as { uri: string }).uri = this.#origins.current;
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
    clearTimeout(this.#retryTimer);
    this.socket.disconnect();
  }
}
