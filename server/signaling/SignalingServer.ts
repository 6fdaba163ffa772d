import type { Logger } from 'pino';
import type { Namespace, Server as SocketIoServer, Socket } from 'socket.io';
import { TokenError, type RoleClaims, type RoleTokens } from '../auth/RoleTokens.ts';
import { isDatabaseUnavailable } from '../db/databaseUnavailable.ts';
import { AppError, invalidInput } from '../errors.ts';
import type { EndCause, InterviewService } from '../lifecycle/InterviewService.ts';
import type { InterviewRoom } from '../sfu/InterviewRoom.ts';
import type { SessionRegistry } from '../session/SessionRegistry.ts';
import type { SignalingRoute } from '../cluster/interviewOwnerUrl.ts';
import type { ConnectionLimits } from './ConnectionLimits.ts';
import { Participant } from './Participant.ts';
import type { TimelineEvent } from '../../shared/timeline.ts';
import {
  REQUEST_ROLES,
  SIGNALING_NAMESPACE,
  endUrlOf,
  isRequestName,
  requestSchemas,
  type AckResult,
  type ClientToServerEvents,
  type HandshakeErrorData,
  type NotificationName,
  type Notifications,
  type ProtocolError,
  type ServerToClientEvents,
} from '../../shared/protocol.ts';

export interface SignalingServerOptions {
  io: SocketIoServer;
  roleTokens: RoleTokens;
  /** The interviews' sessions: each connection works through its interview's. */
  sessions: SessionRegistry;
  interviews: InterviewService;
  bitrates: { screen: number; camera: number };
  candidateDashboardUrl: string;
  /** TURN handed to the pages (REST credentials per join); undefined: none. */
  turn?: { urls: string[]; secret: string } | undefined;
  iceTransportPolicy?: 'all' | 'relay';
  limits: ConnectionLimits;
  /** Throws at_capacity when one more interview would overload the service. */
  admitOne?: () => void;
  /** Cluster mode: where an interview's signalling belongs; unset: always here. */
  routeOf?: ((interviewId: string) => Promise<SignalingRoute>) | undefined;
  /** Cluster mode: the live nodes' PUBLIC_URLs, handed to the pages at join. */
  nodeUrls?: (() => Promise<string[]>) | undefined;
  logger: Logger;
}

interface SocketData {
  claims: RoleClaims;
  /** Gives the connection's proctor seat back (proctors only). */
  releaseSeat?: () => void;
}

type SignalingSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type SignalingNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type Ack = (result: AckResult<unknown>) => void;

/** Requests a connection may have queued; a flooding client is told to slow down, not served. */
const MAX_QUEUED_REQUESTS = 16;

const channelOf = (interviewId: string): string => `interview:${interviewId}`;
/** The interview's proctor pages only (the timeline is not the candidate's to read). */
const proctorChannelOf = (interviewId: string): string => `interview:${interviewId}:proctors`;

/** setTimeout's longest delay; a later expiry is checked again after it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The signalling endpoint: authenticates sockets by role token, validates every message against
 * the protocol, runs each connection's requests in order, and relays lifecycle and room events
 * to the pages of the interview concerned.
 */
export class SignalingServer {
  readonly #namespace: SignalingNamespace;
  readonly #options: SignalingServerOptions;
  readonly #logger: Logger;
  /** By socket id. */
  readonly #participants = new Map<string, Participant>();
  readonly #unsubscribe: Array<() => void> = [];
  /**
   * Accepted namespace connections per transport (engine.io connection). socket.io multiplexes
   * namespaces over one transport: a refusal closes it only when nothing accepted lives on it.
   */
  readonly #acceptedOn = new WeakMap<object, number>();
  #closed = false;

  constructor(options: SignalingServerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'signaling' });
    // Every transport-level connection counts against its address, whatever namespace it asks for.
    options.io.engine.on('connection', (connection: { request: import('node:http').IncomingMessage; once: (event: 'close', listener: () => void) => void }) => {
      connection.once('close', options.limits.holdAddress(connection.request));
    });
    // Nothing but signalling is served: the default namespace holds no connection.
    options.io.of('/').use((socket, next) => this.#refuse(socket, next, 'not_found', `connect to the ${SIGNALING_NAMESPACE} namespace`));
    this.#namespace = options.io.of(SIGNALING_NAMESPACE) as SignalingNamespace;
    this.#namespace.use((socket, next) => {
      let claims: RoleClaims;
      try {
        claims = options.roleTokens.verify((socket.handshake.auth as Record<string, unknown> | undefined)?.token);
      } catch (error) {
        return this.#refuse(socket, next, 'unauthorized', error instanceof TokenError ? error.message : 'role token refused', error instanceof TokenError ? { reason: error.reason } : {});
      }
      void this.#route(claims.interviewId).then((route) => {
        if (route.to === 'owner') return this.#refuse(socket, next, 'unavailable', 'this interview is served by another node', { ownerUrl: route.url });
        if (route.to === 'nobody yet') return this.#refuse(socket, next, 'unavailable', "this interview's node is gone; another one is taking it over: try again in a moment");
        this.#admit(socket, claims, next);
      }, () => this.#admit(socket, claims, next));
    });
    this.#namespace.on('connection', (socket) => this.#onConnection(socket));
    this.#watchSessions();
  }

  /**
   * Refuses a namespace connection with a typed error and then closes the transport under it, so a
   * refused client holds nothing (a well-behaved client closes it itself; the connectTimeout is
   * the backstop for one that does not) — unless a namespace connection of the same client was
   * accepted on that transport.
   */
  #refuse(socket: Socket, next: (error?: Error) => void, code: HandshakeErrorData['code'], message: string, details: Omit<HandshakeErrorData, 'code'> = {}): void {
    this.#logger.info({ clientAddress: this.#options.limits.addressOf(socket.request), namespace: socket.nsp.name, code }, 'signalling connection refused');
    next(Object.assign(new Error(message), { data: { code, ...details } satisfies HandshakeErrorData }));
    // After the error packet is on its way (socket.io sends it on the next tick).
    setImmediate(() => {
      if (!this.#acceptedOn.get(socket.conn)) socket.conn.close();
    });
  }

  /** Cluster mode: an interview's pages signal with the node that owns it (a page that reached another is told where). */
  async #route(interviewId: string): Promise<SignalingRoute> {
    return (await this.#options.routeOf?.(interviewId)) ?? { to: 'here' };
  }

  /** The handshake is accepted: a proctor takes a seat, and the claims go with the socket. */
  #admit(socket: SignalingSocket, claims: RoleClaims, next: (error?: Error) => void): void {
    const options = this.#options;
    // The page may have gone while its owner was looked up: a seat taken now would never be given back.
    if (socket.conn.readyState !== 'open') return next(new Error('the connection closed during the handshake'));
    if (claims.role === 'proctor') {
      const release = options.sessions.open(claims.interviewId).holdProctorSeat(options.limits.settings.proctorsPerInterview);
      if (!release) {
        const max = options.limits.settings.proctorsPerInterview;
        return this.#refuse(socket, next, 'limit_reached', `this interview already has ${max} proctor connections open (the most it takes); close one and try again`);
      }
      socket.data.releaseSeat = release;
      // Released when the connection goes, also if it goes before the namespace connect completes.
      socket.conn.once('close', release);
    }
    socket.data.claims = claims;
    next();
  }

  /** Lifecycle and room events of every session reach the interview's pages. */
  #watchSessions(): void {
    const options = this.#options;
    const onLive = (interview: { id: string; startedAt: Date | null; endsAt: Date | null }): void => {
      if (!interview.startedAt || !interview.endsAt) return;
      this.#notifyInterview(interview.id, 'interviewLive', { startedAt: interview.startedAt.toISOString(), endsAt: interview.endsAt.toISOString(), now: Date.now() });
    };
    const onEnded = (interview: { id: string }, cause: EndCause): void => this.#onEnded(interview.id, cause);
    const onRoom = (room: InterviewRoom): void => this.#watchRoom(room);
    const onTimelineEvent = (interviewId: string, event: TimelineEvent): void => {
      if (this.#closed) return;
      this.#namespace.to(proctorChannelOf(interviewId)).emit('timelineEvent', event);
    };
    options.sessions.on('timelineEvent', onTimelineEvent);
    options.sessions.on('live', onLive);
    options.sessions.on('ended', onEnded);
    options.sessions.on('room', onRoom);
    this.#unsubscribe.push(
      () => options.sessions.off('live', onLive),
      () => options.sessions.off('ended', onEnded),
      () => options.sessions.off('room', onRoom),
      () => options.sessions.off('timelineEvent', onTimelineEvent),
    );
  }

  #onConnection(socket: SignalingSocket): void {
    const claims = socket.data.claims;
    this.#acceptedOn.set(socket.conn, (this.#acceptedOn.get(socket.conn) ?? 0) + 1);
    const notify = <N extends NotificationName>(name: N, payload: Notifications[N]): void => {
      (socket.emit as (name: N, payload: Notifications[N]) => void)(name, payload);
    };
    const connectionLog = { interviewId: claims.interviewId, role: claims.role, clientAddress: this.#options.limits.addressOf(socket.request), socketId: socket.id };
    this.#logger.info(connectionLog, 'signalling connection opened');
    const session = this.#options.sessions.open(claims.interviewId);
    const releaseSession = session.holdConnection();
    const participant = new Participant(
      socket.id,
      claims,
      {
        session,
        interviews: this.#options.interviews,
        bitrates: this.#options.bitrates,
        candidateDashboardUrl: this.#options.candidateDashboardUrl,
        turn: this.#options.turn,
        iceTransportPolicy: this.#options.iceTransportPolicy,
        logger: this.#logger,
        ...(this.#options.admitOne ? { admitOne: this.#options.admitOne } : {}),
        nodeUrls: this.#options.nodeUrls,
      },
      notify,
      () => {
        socket.emit('sessionReplaced', {});
        socket.disconnect(true);
      },
    );
    this.#participants.set(socket.id, participant);
    void socket.join(channelOf(claims.interviewId));
    if (claims.role === 'proctor') void socket.join(proctorChannelOf(claims.interviewId));

    let queued = 0;
    let chain: Promise<void> = Promise.resolve();
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
      const reply = (result: AckResult<unknown>): void => {
        try {
          ack?.(result);
        } catch {
          // A broken ack must not take the connection's queue down.
        }
      };
      if (queued >= MAX_QUEUED_REQUESTS) return reply(failure(new AppError('unavailable', 'too many requests in flight; wait for the answers')));
      queued++;
      chain = chain
        .then(async () => reply({ ok: true, data: await this.#dispatch(participant, event, args) }))
        .catch((error: unknown) => reply(failure(this.#toAppError(error, event))))
        .finally(() => {
          queued--;
        });
    });
    // A client can send an event named "error"; without a listener EventEmitter would throw it.
    socket.on('error' as never, () => undefined);
    const expiry = this.#expireAt(socket, claims.exp * 1000);
    socket.on('disconnect', (reason) => {
      this.#logger.info({ ...connectionLog, reason }, 'signalling connection closed');
      this.#acceptedOn.set(socket.conn, (this.#acceptedOn.get(socket.conn) ?? 1) - 1);
      clearTimeout(expiry.timer);
      socket.data.releaseSeat?.();
      participant.close();
      releaseSession();
      this.#participants.delete(socket.id);
    });
  }

  /** A connection lives no longer than its link: at the token's expiry it is told, then closed. */
  #expireAt(socket: SignalingSocket, expiresAtMs: number): { timer: NodeJS.Timeout | undefined } {
    const handle: { timer: NodeJS.Timeout | undefined } = { timer: undefined };
    const arm = (): void => {
      const left = expiresAtMs - Date.now();
      if (left > 0) {
        handle.timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
        handle.timer.unref();
        return;
      }
      this.#logger.info({ interviewId: socket.data.claims.interviewId, role: socket.data.claims.role }, 'link expired; closing its connection');
      socket.emit('linkExpired', {});
      socket.disconnect(true);
    };
    arm();
    return handle;
  }

  async #dispatch(participant: Participant, event: unknown, args: unknown[]): Promise<unknown> {
    if (!isRequestName(event)) throw new AppError('not_found', `unknown request ${JSON.stringify(String(event)).slice(0, 80)}`);
    if (!REQUEST_ROLES[event].includes(participant.claims.role)) {
      throw new AppError('forbidden', `a ${participant.claims.role} may not send ${event}`);
    }
    if (args.length > 1) throw new AppError('invalid_input', 'a request carries exactly one payload object', 'payload');
    const parsed = requestSchemas[event].safeParse(args[0]);
    if (!parsed.success) throw invalidInput(parsed.error.issues);
    return participant.handle(event, parsed.data as never);
  }

  #toAppError(error: unknown, event: unknown): AppError {
    if (error instanceof AppError) return error;
    // mediasoup rejects bad parameters with TypeError, codecs the router does not have with
    // UnsupportedError (e.g. an "audio" producer offering H264), wrong-state calls with InvalidStateError.
    if (error instanceof TypeError) return new AppError('invalid_input', error.message);
    if (error instanceof Error && error.name === 'UnsupportedError') return new AppError('invalid_input', error.message, 'rtpParameters');
    if (error instanceof Error && error.name === 'InvalidStateError') return new AppError('conflict', error.message);
    if (isDatabaseUnavailable(error)) return new AppError('database_unavailable', 'the database did not answer in time; try again');
    this.#logger.warn({ err: error, request: String(event) }, 'signalling request failed');
    return new AppError('internal', 'internal error');
  }

  #watchRoom(room: InterviewRoom): void {
    const { interviewId } = room;
    room.on('producer', (track, producer) => {
      const { screenSource } = producer.appData;
      this.#notifyInterview(interviewId, 'producerAdded', screenSource ? { track, screenSource } : { track });
    });
    room.on('producerClosed', (track) => {
      if (!room.closed) this.#notifyInterview(interviewId, 'producerClosed', { track });
    });
    room.once('closed', (reason) => {
      if (reason === 'workerDied') this.#notifyInterview(interviewId, 'mediaReset', { reason });
    });
  }

  /** The pages are told and their media stops; the session closes the room. */
  #onEnded(interviewId: string, cause: EndCause): void {
    this.#notifyInterview(interviewId, 'interviewEnded', { endUrl: endUrlOf(interviewId), cause });
    for (const participant of this.#participants.values()) {
      if (participant.interviewId === interviewId) participant.markEnded();
    }
  }

  #notifyInterview<N extends NotificationName>(interviewId: string, name: N, payload: Notifications[N]): void {
    if (this.#closed) return;
    (this.#namespace.to(channelOf(interviewId)).emit as (name: N, payload: Notifications[N]) => void)(name, payload);
  }

  /** Cluster mode: the interview's pages are told to reconnect to its new owner (this node is leaving). */
  interviewMoved(interviewId: string, ownerUrl: string): void {
    if (this.#closed) return;
    // Only this node's pages: the others are not leaving.
    this.#namespace.local.to(channelOf(interviewId)).emit('interviewMoved', { ownerUrl });
  }

  /** Open signalling connections by role (metrics). */
  connectionsByRole(): { candidate: number; proctor: number } {
    const counts = { candidate: 0, proctor: 0 };
    for (const participant of this.#participants.values()) counts[participant.claims.role]++;
    return counts;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    for (const participant of this.#participants.values()) participant.close();
    this.#participants.clear();
    this.#namespace.disconnectSockets(true);
  }
}

function failure(error: AppError): { ok: false; error: ProtocolError } {
  return { ok: false, error: { code: error.code, message: error.message } };
}
