// The signalling protocol between the pages and the server, typed once and imported by both sides
// (the client bundle includes this file, so it must not import node modules; type imports are
// erased). Every request carries one payload object and an ack callback; the server answers each
// with an AckResult. Notifications flow server → client without acks.
import { z } from 'zod';
import type { types as client } from 'mediasoup-client';
import { SCREEN_VERDICTS, TRACK_NAMES, type ErrorCode, type InterviewStatus, type MediaKind, type ScreenSource, type TrackName } from './vocabulary.ts';
import { CANDIDATE_DETAIL_LIMITS, CANDIDATE_EVENT_KINDS, type TimelineEvent } from './timeline.ts';

export { SCREEN_VERDICTS, TRACK_KINDS, TRACK_NAMES, type MediaKind, type ScreenSource, type TrackName } from './vocabulary.ts';

export { SIGNALING_NAMESPACE } from './vocabulary.ts';

export type Role = 'candidate' | 'proctor';


// mediasoup validates RTP parameters and capabilities in depth; these schemas only bound their
// shape and size so garbage is refused before it reaches a worker.
const shortString = z.string().max(256);
const id = z.string().min(1).max(64);
const trackName = z.enum(TRACK_NAMES);
const codec = z.object({ mimeType: shortString, clockRate: z.number().int().positive() }).passthrough();
const dtlsParameters = z
  .object({
    role: z.enum(['auto', 'client', 'server']).optional(),
    fingerprints: z.array(z.object({ algorithm: shortString, value: shortString }).strict()).min(1).max(8),
  })
  .strict();
const rtpParameters = z
  .object({
    mid: shortString.optional(),
    codecs: z.array(codec.extend({ payloadType: z.number().int().min(0).max(127) })).min(1).max(16),
    headerExtensions: z.array(z.object({ uri: shortString, id: z.number().int() }).passthrough()).max(32).optional(),
    encodings: z.array(z.object({}).passthrough()).max(8).optional(),
    rtcp: z.object({}).passthrough().optional(),
  })
  .passthrough();
const rtpCapabilities = z
  .object({
    codecs: z.array(codec.extend({ kind: z.enum(['audio', 'video']) })).max(64).optional(),
    headerExtensions: z.array(z.object({ uri: shortString, preferredId: z.number().int() }).passthrough()).max(64).optional(),
  })
  .passthrough();

const screenSource: z.ZodType<ScreenSource> = z.object({ verdict: z.enum(SCREEN_VERDICTS), evidence: z.string().max(300) }).strict();

const { maxKeys, maxKeyLength, maxStringLength } = CANDIDATE_DETAIL_LIMITS;
const eventDetails = z
  .record(z.string().min(1).max(maxKeyLength), z.union([z.string().max(maxStringLength), z.number().finite(), z.boolean(), z.null()]))
  .refine((details) => Object.keys(details).length <= maxKeys, { message: `at most ${maxKeys} details` });

export const requestSchemas = {
  /** First request of every connection: binds the socket to the interview its token names. */
  join: z.object({ interviewId: z.string().uuid() }).strict(),
  /** Candidates get a send transport, proctors a receive transport. */
  createTransport: z.object({ direction: z.enum(['send', 'recv']) }).strict(),
  connectTransport: z.object({ transportId: id, dtlsParameters }).strict(),
  /**
   * Candidate only: publishes one of the three tracks, replacing an earlier generation of it.
   * screenSource (screen track only) is what the page could tell about the share.
   */
  produce: z.object({ transportId: id, track: trackName, kind: z.enum(['audio', 'video']), rtpParameters, screenSource: screenSource.optional() }).strict(),
  /** Candidate only: the track stopped (e.g. screen sharing ended) and will be produced anew. */
  closeProducer: z.object({ track: trackName }).strict(),
  /** Proctor only: a paused consumer of the track; resume it once the client side is ready. */
  consume: z.object({ transportId: id, track: trackName, rtpCapabilities }).strict(),
  resumeConsumer: z.object({ consumerId: id }).strict(),
  getStats: z.object({}).strict(),
  /** Proctor only. */
  endInterview: z.object({}).strict(),
  /**
   * Candidate only: something the page saw (tab hidden, paste, …) for the interview's timeline.
   * `at` is the browser's clock (ms since the epoch); the server's clock decides the event's time.
   */
  reportEvent: z.object({ kind: z.enum(CANDIDATE_EVENT_KINDS), at: z.number().finite().nonnegative(), details: eventDetails.optional() }).strict(),
} as const;

export type RequestName = keyof typeof requestSchemas;
export type RequestPayload<N extends RequestName> = z.input<(typeof requestSchemas)[N]>;
export type ParsedRequest<N extends RequestName> = z.output<(typeof requestSchemas)[N]>;

/** Who may send each request (checked before the payload is even looked at). */
export const REQUEST_ROLES: Readonly<Record<RequestName, readonly Role[]>> = {
  join: ['candidate', 'proctor'],
  createTransport: ['candidate', 'proctor'],
  connectTransport: ['candidate', 'proctor'],
  produce: ['candidate'],
  closeProducer: ['candidate'],
  consume: ['proctor'],
  resumeConsumer: ['proctor'],
  getStats: ['candidate', 'proctor'],
  endInterview: ['proctor'],
  reportEvent: ['candidate'],
};

export function isRequestName(name: unknown): name is RequestName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(requestSchemas, name);
}

export interface InterviewInfo {
  id: string;
  status: InterviewStatus;
  candidateName: string | null;
  durationSeconds: number;
  startedAt: string | null;
  endsAt: string | null;
  /** The latest screen share as the candidate's page described it; null before one. */
  screenSource: ScreenSource | null;
}

/** One TURN server entry for RTCPeerConnection, with time-limited credentials. */
export interface IceServerInfo {
  urls: string[];
  username: string;
  credential: string;
}

export interface JoinResult {
  role: Role;
  interview: InterviewInfo;
  /** The server's clock (ms since the epoch) when it answered, so pages count down on its time. */
  now: number;
  routerRtpCapabilities: client.RtpCapabilities;
  /** Tracks being published right now (what a proctor can consume). */
  tracks: TrackName[];
  /** Where the candidate goes when the interview ends. */
  endUrl: string;
  /**
   * Candidate only (null for a proctor): the host app's page the candidate returns to after the
   * end page, as given when the interview was created (never from a client); null when none was.
   */
  returnUrl: string | null;
  /** TURN servers (empty without TURN_URLS) and whether media may only go through them. */
  ice: { servers: IceServerInfo[]; transportPolicy: 'all' | 'relay' };
  /**
   * Cluster mode: the PUBLIC_URLs of the cluster's live nodes, where the page looks for its
   * interview's new owner when its node goes away (empty on a single node).
   */
  nodeUrls: string[];
  /** Candidate only: how to publish, and where to go when the candidate refuses permissions. */
  publish: { bitrates: { screen: number; camera: number }; dashboardUrl: string } | null;
  /**
   * Proctor only (empty for a candidate): the interview's timeline so far, by seq. Later entries
   * arrive as `timelineEvent`; one with a seq already seen replaces it (only the interview's single
   * `events_dropped` entry is ever sent again, with its count updated).
   */
  events: TimelineEvent[];
}

interface TransportInfo {
  id: string;
  iceParameters: client.IceParameters;
  iceCandidates: client.IceCandidate[];
  dtlsParameters: client.DtlsParameters;
}

interface ConsumerInfo {
  id: string;
  producerId: string;
  track: TrackName;
  kind: MediaKind;
  rtpParameters: client.RtpParameters;
}

export interface TrackStats {
  track: TrackName;
  /** mediasoup's 0–10 quality score of the stream as received (producer) or sent (consumer). */
  score: number;
  /** Score of the candidate's upstream, for consumers. */
  producerScore: number | null;
  bitrate: number;
  packetsLost: number;
}

export interface RequestResults {
  join: JoinResult;
  createTransport: TransportInfo;
  connectTransport: Record<string, never>;
  produce: { producerId: string };
  closeProducer: Record<string, never>;
  consume: ConsumerInfo;
  resumeConsumer: Record<string, never>;
  getStats: { tracks: TrackStats[] };
  endInterview: Record<string, never>;
  /** accepted: false when the interview's allowance is spent (counted in one `events_dropped`). */
  reportEvent: { accepted: boolean };
}

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

export type AckResult<T> = { ok: true; data: T } | { ok: false; error: ProtocolError };

export interface Notifications {
  /** Media reached the server: the clock started. */
  interviewLive: { startedAt: string; endsAt: string; now: number };
  /** The interview is over; candidates go to endUrl. cause is null when it ended before this connection. */
  interviewEnded: { endUrl: string; cause: 'timer' | 'proctor' | 'admin' | null };
  /** screenSource: for the screen track, what the page could tell about the share (if it said). */
  producerAdded: { track: TrackName; screenSource?: ScreenSource };
  producerClosed: { track: TrackName };
  consumerClosed: { consumerId: string; track: TrackName };
  consumerScore: { consumerId: string; track: TrackName; score: number; producerScore: number };
  /** The media server behind this interview went away: set up transports again (reconnect). */
  mediaReset: { reason: 'workerDied' };
  /**
   * Cluster mode: this node is shutting down and the node at ownerUrl owns the interview now:
   * reconnect there (and publish or watch again) at once.
   */
  interviewMoved: { ownerUrl: string };
  /** Another tab of the candidate took over; this one stops publishing. */
  sessionReplaced: Record<string, never>;
  /** The link's role token expired: the server disconnects this connection right after. */
  linkExpired: Record<string, never>;
  /**
   * Proctors only: one new entry of the interview's timeline, as it is stored. An entry whose seq
   * was already sent replaces it: `events_dropped` is sent again as its count grows.
   */
  timelineEvent: TimelineEvent;
}

export type NotificationName = keyof Notifications;

/** socket.io's typed event maps for both ends. */
export type ServerToClientEvents = { [N in NotificationName]: (payload: Notifications[N]) => void };
export type ClientToServerEvents = {
  [N in RequestName]: (payload: RequestPayload<N>, ack: (result: AckResult<RequestResults[N]>) => void) => void;
};

/** Carried by connect_error when the handshake is refused. */
export interface HandshakeErrorData {
  code: ErrorCode;
  /**
   * Cluster mode, with code `unavailable`: the interview is owned by the node at this URL, where
   * the page connects instead. Without it, an `unavailable` refusal of a live interview means its
   * owner is gone and another node is taking it over: ask again in a moment.
   */
  ownerUrl?: string;
  /**
   * With code `unauthorized`: why the role token was refused — `expired` (the link is out of
   * date: ask the host app for a fresh one), `malformed` or `bad_signature` (not a valid link).
   */
  reason?: 'expired' | 'malformed' | 'bad_signature';
}

export function endUrlOf(interviewId: string): string {
  return `/interview/end/${interviewId}`;
}
