import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { RoleClaims } from '../auth/RoleTokens.ts';
import { turnCredentials } from '../auth/TurnCredentials.ts';
import { AppError } from '../errors.ts';
import type { InterviewService } from '../lifecycle/InterviewService.ts';
import { InterviewStatus, hasEnded } from '../db/InterviewStatus.ts';
import type { InterviewRoom, TransportAppData } from '../sfu/InterviewRoom.ts';
import type { InterviewSession } from '../session/InterviewSession.ts';
import { INTERVIEW_ENDED } from '../session/SessionRoom.ts';
import { listTimelineEvents } from '../timeline/timelineStore.ts';
import { mediaPathOf, turnAddressesOf } from '../timeline/mediaPath.ts';
import {
  TRACK_NAMES,
  endUrlOf,
  type InterviewInfo,
  type NotificationName,
  type Notifications,
  type ParsedRequest,
  type RequestName,
  type RequestResults,
  type TrackName,
  type TrackStats,
} from '../../shared/protocol.ts';

export interface ParticipantContext {
  /** The interview's session: its room, and its end. */
  session: InterviewSession;
  interviews: InterviewService;
  bitrates: { screen: number; camera: number };
  candidateDashboardUrl: string;
  /** TURN handed to the pages (undefined: none) and whether media may only go through it (default all). */
  turn?: { urls: string[]; secret: string } | undefined;
  iceTransportPolicy?: 'all' | 'relay';
  logger: Logger;
  /** Throws at_capacity when the service cannot take one more interview's media now. */
  admitOne?: () => void;
  /** Cluster mode: the live nodes' PUBLIC_URLs (where the page looks for its interview if this node goes). */
  nodeUrls?: (() => Promise<string[]>) | undefined;
}

type Handlers = { [N in RequestName]: (request: ParsedRequest<N>) => Promise<RequestResults[N]> };

/** Direction each role may open: candidates only send, proctors only receive. */
const DIRECTION_OF_ROLE = { candidate: 'send', proctor: 'recv' } as const;

/**
 * One signalling connection (a candidate tab or a proctor tab) and the media objects it owns:
 * its transport and, for proctors, its consumers. Closing it closes them.
 */
export class Participant {
  readonly id: string;
  readonly claims: RoleClaims;
  readonly #context: ParticipantContext;
  readonly #notify: <N extends NotificationName>(name: N, payload: Notifications[N]) => void;
  readonly #onReplaced: () => void;
  readonly #transports = new Map<string, types.WebRtcTransport<TransportAppData>>();
  readonly #consumers = new Map<string, types.Consumer<{ track: TrackName }>>();
  readonly #producerIds = new Set<string>();
  #room: InterviewRoom | undefined;
  #joined = false;
  #ended = false;
  #closed = false;

  constructor(
    id: string,
    claims: RoleClaims,
    context: ParticipantContext,
    notify: <N extends NotificationName>(name: N, payload: Notifications[N]) => void,
    onReplaced: () => void,
  ) {
    this.id = id;
    this.claims = claims;
    this.#context = context;
    this.#notify = notify;
    this.#onReplaced = onReplaced;
  }

  get interviewId(): string {
    return this.claims.interviewId;
  }

  get joined(): boolean {
    return this.#joined;
  }

  handle<N extends RequestName>(name: N, request: ParsedRequest<N>): Promise<RequestResults[N]> {
    if (this.#closed) return Promise.reject(new AppError('conflict', 'this connection is closed'));
    if (name !== 'join' && !this.#joined) return Promise.reject(new AppError('conflict', 'send join first'));
    if (name !== 'join' && name !== 'getStats' && this.#ended) return Promise.reject(new AppError('conflict', INTERVIEW_ENDED));
    return (this.#handlers[name] as (request: ParsedRequest<N>) => Promise<RequestResults[N]>)(request);
  }

  /** The cluster's node URLs, or none (a single node, or Redis cannot tell now: the join goes on). */
  async #nodeUrls(): Promise<string[]> {
    try {
      return (await this.#context.nodeUrls?.()) ?? [];
    } catch (error) {
      this.#context.logger.warn({ err: error }, "could not list the cluster's nodes for a page");
      return [];
    }
  }

  readonly #handlers: Handlers = {
    join: async ({ interviewId }) => {
      if (this.#joined) throw new AppError('conflict', 'already joined');
      if (interviewId !== this.interviewId) throw new AppError('forbidden', 'this link belongs to another interview');
      const interview = await this.#context.interviews.find(interviewId);
      if (!interview) throw new AppError('not_found', 'this interview does not exist');
      if (hasEnded(interview.status)) throw this.#endedRefusal();
      // A candidate starting an interview brings a new load; one already under way (a reload, a
      // reconnect) is never turned away.
      const started = interview.status !== InterviewStatus.Created || (this.#context.session.room?.tracks.length ?? 0) > 0;
      if (this.claims.role === 'candidate' && !started) this.#context.admitOne?.();
      // The end stored while this join read the interview refuses it like a late one (the session
      // opens no room for an ended interview).
      const room = await this.#openRoom().catch((error: unknown) => {
        throw this.#ended || (error instanceof AppError && error.message === INTERVIEW_ENDED) ? this.#endedRefusal() : error;
      });
      if (this.#closed) throw new AppError('conflict', 'this connection is closed');
      if (this.#ended) throw this.#endedRefusal();
      this.#joined = true;
      // A candidate opened the interview in a new tab (or reloaded): the old connection stops.
      if (this.claims.role === 'candidate') this.#context.session.candidateJoined(this, { rejoined: interview.status === InterviewStatus.Live })?.replaced();
      // A proctor's page gets the timeline so far; new entries follow as `timelineEvent`.
      const events = this.claims.role === 'proctor' ? await listTimelineEvents(this.#context.interviews.database, interviewId) : [];
      if (this.claims.role === 'proctor') void this.#context.session.timeline.record('proctor_joined', { connection: this.id.slice(0, 8) });
      const info: InterviewInfo = {
        id: interview.id,
        status: interview.status,
        candidateName: interview.candidateName,
        durationSeconds: interview.durationSeconds,
        startedAt: interview.startedAt?.toISOString() ?? null,
        endsAt: interview.endsAt?.toISOString() ?? null,
        screenSource: interview.screenSource,
      };
      const nodeUrls = await this.#nodeUrls();
      return {
        role: this.claims.role,
        interview: info,
        nodeUrls,
        now: Date.now(),
        routerRtpCapabilities: room.rtpCapabilities as RequestResults['join']['routerRtpCapabilities'],
        tracks: room.tracks,
        endUrl: endUrlOf(interviewId),
        returnUrl: this.claims.role === 'candidate' ? interview.returnUrl : null,
        ice: {
          // Valid for the rest of the interview and an hour more (a page that joins again gets new ones).
          servers: this.#context.turn
            ? [turnCredentials(this.#context.turn, `${interviewId}-${this.claims.role}`, (interview.endsAt ? Math.max(0, interview.endsAt.getTime() - Date.now()) / 1000 : interview.durationSeconds) + 3600)]
            : [],
          transportPolicy: this.#context.iceTransportPolicy ?? 'all',
        },
        publish: this.claims.role === 'candidate' ? { bitrates: this.#context.bitrates, dashboardUrl: this.#context.candidateDashboardUrl } : null,
        events,
      };
    },

    createTransport: async ({ direction }) => {
      if (direction !== DIRECTION_OF_ROLE[this.claims.role]) {
        throw new AppError('forbidden', `a ${this.claims.role} may only open a ${DIRECTION_OF_ROLE[this.claims.role]} transport`);
      }
      // One at a time: a page that sets up again (after a reload of its media) replaces the old one.
      for (const transport of this.#transports.values()) transport.close();
      this.#transports.clear();
      const room = await this.#openRoom();
      const transport = await room.createWebRtcTransport(direction);
      if (this.#closed || this.#ended) {
        transport.close();
        // The interview ended while the transport was being made: nothing is recorded any more.
        throw new AppError('conflict', this.#closed ? 'this connection is closed' : INTERVIEW_ENDED);
      }
      this.#transports.set(transport.id, transport);
      transport.observer.once('close', () => this.#transports.delete(transport.id));
      // The candidate's media path (UDP, TCP, through TURN) and its changes, for the timeline.
      if (direction === 'send') transport.on('iceselectedtuplechange', (tuple) => void this.#mediaPathSelected(tuple));
      return {
        id: transport.id,
        iceParameters: transport.iceParameters,
        iceCandidates: transport.iceCandidates as RequestResults['createTransport']['iceCandidates'],
        dtlsParameters: transport.dtlsParameters as RequestResults['createTransport']['dtlsParameters'],
      };
    },

    connectTransport: async ({ transportId, dtlsParameters }) => {
      const transport = this.#transport(transportId);
      await transport.connect({ dtlsParameters: dtlsParameters as types.DtlsParameters });
      return {};
    },

    produce: async ({ transportId, track, kind, rtpParameters, screenSource }) => {
      const transport = this.#transport(transportId);
      if (screenSource && track !== 'screen') throw new AppError('invalid_input', 'only the screen track has a screen source', 'screenSource');
      const room = this.#requireRoom();
      // Stored before the producer exists, so a proctor joining on its producerAdded reads it.
      if (screenSource) await this.#context.interviews.setScreenSource(this.interviewId, screenSource);
      const producer = await room.produce(transport, track, kind, rtpParameters as unknown as types.RtpParameters, screenSource);
      this.#producerIds.add(producer.id);
      producer.observer.once('close', () => this.#producerIds.delete(producer.id));
      return { producerId: producer.id };
    },

    closeProducer: async ({ track }) => {
      const producer = this.#requireRoom().getProducer(track);
      // Only this connection's own producer: a stale tab must not stop the live one.
      if (producer && this.#producerIds.has(producer.id)) producer.close();
      return {};
    },

    consume: async ({ transportId, track, rtpCapabilities }) => {
      const transport = this.#transport(transportId);
      for (const existing of this.#consumers.values()) {
        if (existing.appData.track === track) existing.close();
      }
      const consumer = await this.#requireRoom().consume(transport, track, rtpCapabilities as types.RtpCapabilities);
      this.#consumers.set(consumer.id, consumer);
      consumer.observer.once('close', () => this.#consumers.delete(consumer.id));
      consumer.on('producerclose', () => {
        consumer.close();
        this.#notify('consumerClosed', { consumerId: consumer.id, track });
      });
      consumer.on('score', ({ score, producerScore }) => this.#notify('consumerScore', { consumerId: consumer.id, track, score, producerScore }));
      return {
        id: consumer.id,
        producerId: consumer.producerId,
        track,
        kind: consumer.kind,
        rtpParameters: consumer.rtpParameters as RequestResults['consume']['rtpParameters'],
      };
    },

    resumeConsumer: async ({ consumerId }) => {
      const consumer = this.#consumers.get(consumerId);
      if (!consumer) throw new AppError('not_found', 'no such consumer');
      await consumer.resume();
      // A proctor joining mid-interview would otherwise wait for the encoder's next keyframe.
      if (consumer.kind === 'video') await consumer.requestKeyFrame();
      return {};
    },

    getStats: async () => {
      const room = this.#room;
      if (!room || room.closed) return { tracks: [] };
      const tracks: TrackStats[] = [];
      if (this.claims.role === 'candidate') {
        for (const track of TRACK_NAMES) {
          const producer = room.getProducer(track);
          if (!producer) continue;
          const stats = await producer.getStats().catch(() => []);
          tracks.push({
            track,
            score: producer.score[0]?.score ?? 0,
            producerScore: null,
            bitrate: stats.reduce((sum, stat) => sum + stat.bitrate, 0),
            packetsLost: stats.reduce((sum, stat) => sum + stat.packetsLost, 0),
          });
        }
      } else {
        for (const consumer of this.#consumers.values()) {
          const stats = await consumer.getStats().catch(() => []);
          const outbound = stats.filter((stat) => stat.type === 'outbound-rtp');
          tracks.push({
            track: consumer.appData.track,
            score: consumer.score.score,
            producerScore: consumer.score.producerScore,
            bitrate: outbound.reduce((sum, stat) => sum + stat.bitrate, 0),
            packetsLost: outbound.reduce((sum, stat) => sum + stat.packetsLost, 0),
          });
        }
      }
      return { tracks };
    },

    endInterview: async () => {
      await this.#context.session.end('proctor');
      return {};
    },
    // Validated (kind, bounded details) and role-checked before it gets here; the timeline applies
    // the interview's allowance (refused and counted in `events_dropped` past it).
    reportEvent: async ({ kind, at, details }) => this.#context.session.timeline.report(kind, at, details ?? {}),
  };

  async #mediaPathSelected(tuple: types.TransportTuple): Promise<void> {
    const turnAddresses = this.#context.turn ? await turnAddressesOf(this.#context.turn.urls) : new Set<string>();
    if (!this.#closed && !this.#ended) this.#context.session.timeline.observeMediaPath(mediaPathOf(tuple, turnAddresses));
  }

  /** A join that comes after the end: the page is told where to go, and the join is refused. */
  #endedRefusal(): AppError {
    this.#room?.removeMember(this.id);
    this.#room = undefined;
    this.#notify('interviewEnded', { endUrl: endUrlOf(this.interviewId), cause: null });
    return new AppError('conflict', INTERVIEW_ENDED);
  }

  async #openRoom(): Promise<InterviewRoom> {
    if (this.#room && !this.#room.closed) return this.#room;
    const room = await this.#context.session.openRoom();
    // Closed meanwhile (a reload during connect): a member added now would keep the room open forever.
    if (this.#closed) throw new AppError('conflict', 'this connection is closed');
    this.#room?.removeMember(this.id);
    this.#room = room;
    room.addMember(this.id);
    return room;
  }

  #requireRoom(): InterviewRoom {
    if (!this.#room || this.#room.closed) throw new AppError('unavailable', 'the media server restarted; set up the connection again');
    return this.#room;
  }

  #transport(transportId: string): types.WebRtcTransport<TransportAppData> {
    const transport = this.#transports.get(transportId);
    if (!transport || transport.closed) throw new AppError('not_found', 'no such transport; create one first');
    return transport;
  }

  /** The interview ended: media stops, and only harmless requests are still answered. */
  markEnded(): void {
    this.#ended = true;
    this.#closeMedia();
  }

  #closeMedia(): void {
    for (const transport of this.#transports.values()) transport.close();
    this.#transports.clear();
    this.#consumers.clear();
  }

  /** Another tab of the candidate joined: this connection is told, then closed. */
  replaced(): void {
    this.close();
    this.#onReplaced();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeMedia();
    this.#room?.removeMember(this.id);
    if (this.claims.role === 'proctor' && this.#joined && !this.#ended && !this.#context.session.shuttingDown) void this.#context.session.timeline.record('proctor_left', { connection: this.id.slice(0, 8) });
    this.#context.session.candidateLeft(this);
  }
}
