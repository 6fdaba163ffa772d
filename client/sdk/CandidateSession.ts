// One candidate's live session with the service: signalling, the send transport, the three
// published tracks, and everything that keeps them published — reconnects, a media server reset,
// a cluster node handing the interview over, limits and capacity. The host page (or our candidate
// page) gives it media and listens to its events; media goes straight to the server, which
// records it. Nothing is buffered here, and no URL is taken from the page: the service's origin
// and the interview come from the candidate link, everything else from the server.
import type { JoinResult, TrackName } from '../../shared/protocol.ts';
import type { InterviewStatus, ScreenSource } from '../../shared/vocabulary.ts';
import { ServerClock } from '../shared/serverClock.ts';
import { RequestError, SignalingClient, handshakeRefusal, isTransient } from '../shared/SignalingClient.ts';
import { AudioMixer } from './AudioMixer.ts';
import { missingCapabilities } from './capabilities.ts';
import { parseCandidateLink, type CandidateLink } from './candidateLink.ts';
import { captureCameraAndMicrophone, captureScreen, type ScreenCapture } from './capture.ts';
import { Emitter } from './Emitter.ts';
import { requireComplete, sourcesOf, type HostMedia, type MediaSources } from './hostMedia.ts';
import { IngestError, type TrackRole } from './IngestError.ts';
import { Publisher } from './Publisher.ts';
import { judgeScreenTrack } from './screenCheck.ts';
import { TimelineWatchers, type TimelineReport } from './TimelineWatchers.ts';

/** How long the audio mixer may take to start before the microphone is sent unmixed. */
const MIXER_DEADLINE_MS = 3000;
/** After a refusal for a limit or for capacity, ask again this much later. */
const RETRY_AFTER_REFUSAL_MS = 5000;
/** Timeline reports kept while disconnected (the oldest go first): a few seconds' worth, not a log. */
const TIMELINE_QUEUE_LIMIT = 50;
/**
 * Reports awaiting the server's answer at once. The server answers a connection's requests one at
 * a time and refuses more than 16 in flight: a burst of reports must not crowd out publishing.
 */
const TIMELINE_IN_FLIGHT = 4;

/**
 * connecting: before the first join. ready: joined, the interview not started (its clock starts
 * when the media reaches the server). live: the interview runs. reconnecting: the connection was
 * lost and is being set up again. moved: a cluster node handed the interview to another; the
 * session follows. ended: the interview is over. closed: this tab's session stopped for good
 * (a fatal refusal, or leave()).
 */
export type SessionState = 'connecting' | 'ready' | 'live' | 'reconnecting' | 'moved' | 'ended' | 'closed';

/**
 * How the audio is sent: 'mixed' (computer sound + microphone through the mixer), 'microphone'
 * (no computer sound — always so in Firefox — so the microphone goes as it is) or 'unmixed' (there
 * was computer sound but the mixer did not start in time: the microphone alone).
 */
export type AudioRoute = 'mixed' | 'microphone' | 'unmixed';

/** The media connection to the server (ICE + DTLS), as the browser's RTCPeerConnection names it. */
export type MediaConnectionState = 'new' | 'connecting' | 'connected' | 'failed' | 'disconnected' | 'closed';

export interface EndInfo {
  /** The interview's status when the end reached this page (finalizing, then completed or failed). */
  status: InterviewStatus;
  /** Who ended it; null when it had ended before this page joined. */
  cause: 'timer' | 'proctor' | 'admin' | null;
  /** Our end page for this interview (upload progress, then the recordings), on the service's origin. */
  endUrl: string;
  /** Where the host asked the candidate to go after the end (the create's returnUrl), or null. */
  returnUrl: string | null;
}

/** A stretch of the interview this page was not sending everything, as this page saw it. */
export interface ClientGap {
  start: Date;
  /** null while it lasts. */
  end: Date | null;
  cause: 'connection lost' | 'screen share stopped' | 'track ended';
}

export interface SessionEvents {
  [name: string]: unknown[];
  state: [{ state: SessionState; previous: SessionState; interviewStatus: InterviewStatus | null }];
  /** The media connection to the server (ICE and DTLS): nothing is recorded until 'connected'. */
  media: [MediaConnectionState];
  /** Each second while the interview runs: time left on the server's clock. */
  time: [{ remainingMs: number; endsAt: string }];
  /** Whether all three tracks reach the server while the interview runs. */
  recording: [boolean];
  gap: [ClientGap];
  audio: [AudioRoute];
  /** A refusal or a problem; `fatal` when this session is over. */
  error: [IngestError];
  ended: [EndInfo];
  /** Something this page saw for the interview's timeline (tab hidden, paste, camera muted, …), as it is reported. */
  timeline: [TimelineReport];
}

export interface JoinOptions {
  /**
   * Stop the tracks the host gave when the interview ends or the session closes (default false:
   * the host owns them). Tracks the SDK captured itself are always stopped.
   */
  stopHostTracks?: boolean;
  /**
   * Watch the page and the tracks for the interview's timeline and report what happens (default
   * true; the host page hears the same as 'timeline' events).
   */
  timeline?: boolean;
}

export interface CaptureSteps {
  /** Called as each browser prompt opens (screen, then camera and microphone) and as the audio starts. */
  onStep?: (step: 'screen' | 'camera and microphone' | 'audio') => void;
}

/** Joins the interview a candidate link names; the session connects at once. */
export function join(candidateUrl: string, options: JoinOptions = {}): CandidateSession {
  return new CandidateSession(candidateUrl, options);
}

export class CandidateSession extends Emitter<SessionEvents> {
  readonly interviewId: string;
  readonly #options: JoinOptions;
  readonly #clock = new ServerClock();
  readonly #signaling: SignalingClient | undefined;
  #state: SessionState = 'connecting';
  #join: JoinResult | null = null;
  #live = false;
  #publisher: Publisher | null = null;
  /** Bumped at every new signalling session: work of an older one stops where it is. */
  #generation = 0;
  #mixer: AudioMixer | null = null;
  #audioRoute: AudioRoute | null = null;
  #screenSource: ScreenSource | undefined;
  /** capture(): the screen shared in a try whose camera or microphone was then refused. */
  #pendingScreen: ScreenCapture | null = null;
  readonly #media: MediaSources = { screen: null, camera: null, microphone: null, systemAudio: null };
  /** Tracks the SDK captured itself: it stops them when done. */
  readonly #owned = new Set<MediaStreamTrack>();
  readonly #watched = new WeakSet<MediaStreamTrack>();
  #publishing: Promise<void> = Promise.resolve();
  readonly #published = new Map<TrackName, MediaStreamTrack>();
  #recording = false;
  #gap: ClientGap | null = null;
  #ended: EndInfo | null = null;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #timeline: TimelineWatchers | null = null;
  /** Reports not sent yet: sent at the next join, in order. */
  readonly #timelineQueue: TimelineReport[] = [];
  /** The signalling session whose join succeeded (reports go out only then). */
  #joinedGeneration = -1;
  #timelineInFlight = 0;
  /** Shutting down: the tracks it stops now (which fire 'ended', see trackHooks) are no news. */
  #stopping = false;
  #firstJoin: { promise: Promise<JoinResult>; resolve: (join: JoinResult) => void; reject: (error: IngestError) => void };

  constructor(candidateUrl: string, options: JoinOptions = {}) {
    super();
    this.#options = options;
    let resolve!: (join: JoinResult) => void;
    let reject!: (error: IngestError) => void;
    const promise = new Promise<JoinResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined);
    this.#firstJoin = { promise, resolve, reject };
    let link: CandidateLink | undefined;
    let refusal: IngestError | undefined;
    try {
      link = parseCandidateLink(candidateUrl);
    } catch (error) {
      refusal = error as IngestError;
    }
    const missing = missingCapabilities();
    if (!refusal && missing.length > 0) refusal = new IngestError('unsupported_browser', { missing });
    this.interviewId = link?.interviewId ?? '';
    if (refusal || !link) {
      // Reported once a listener can be there; nothing reaches the service.
      const error = refusal ?? new IngestError('link_invalid');
      setTimeout(() => this.#fail(error));
      return;
    }
    this.#signaling = new SignalingClient(link.token, link.origin);
    this.#listen(this.#signaling);
    this.#ticker = setInterval(() => this.#tick(), 1000);
    if (options.timeline !== false) {
      const watchers = (this.#timeline = new TimelineWatchers((report) => this.#onTimeline(report)));
      // After the host's listeners are attached (a reload is reported at once).
      queueMicrotask(() => watchers.start());
    }
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The interview's status as last heard from the server; null before the first join. */
  get interviewStatus(): InterviewStatus | null {
    return this.#ended?.status ?? this.#join?.interview.status ?? null;
  }

  get audioRoute(): AudioRoute | null {
    return this.#audioRoute;
  }

  /** The interview's length in seconds (known after the first join). */
  get durationSeconds(): number | null {
    return this.#join?.interview.durationSeconds ?? null;
  }

  /** Where to send a candidate who refuses the permissions (CANDIDATE_DASHBOARD_URL), once joined. */
  get dashboardUrl(): string | null {
    return this.#join?.publish?.dashboardUrl ?? null;
  }

  /** Where the host asked the candidate to go after the end, once joined; null when it did not. */
  get returnUrl(): string | null {
    return this.#join?.returnUrl ?? null;
  }

  /** The camera being sent (the host's or the one the SDK captured), for a preview. */
  get cameraTrack(): MediaStreamTrack | null {
    return this.#media.camera;
  }

  /** Time left on the server's clock; null before the interview started. */
  remainingMs(): number | null {
    return this.#clock.remainingMs();
  }

  /** Whether all three tracks reach the server while the interview runs. */
  get recording(): boolean {
    return this.#recording;
  }

  /** Resolves at the first join (the session can take media); rejects with a fatal IngestError. */
  async ready(): Promise<void> {
    await this.#firstJoin.promise;
  }

  /**
   * Publishes streams the host already holds. Give all three the first time (screen, camera,
   * microphone); later calls replace what they name (a new screen share after the first stopped).
   * The screen must be the entire screen. Resolves once the tracks are taken (they are sent as
   * soon as, and whenever, the connection is up); rejects with an IngestError when refused.
   */
  async publish(media: HostMedia): Promise<void> {
    this.#assertOpen();
    const sources = sourcesOf(media);
    const next: MediaSources = { ...this.#media, ...sources };
    requireComplete(next);
    let screenSource = this.#screenSource;
    if (sources.screen) screenSource = judgeScreenTrack(sources.screen);
    await this.#use(next, screenSource);
  }

  /**
   * The permission flow, for a host without one: asks for the entire screen, then the camera and
   * microphone (only what is not held yet), and publishes them. Call it from a click handler
   * (browsers require a user gesture for screen sharing). Rejects with an IngestError: a refused
   * permission, no camera, a tab or a window instead of the screen (then call it again).
   */
  async capture(steps: CaptureSteps = {}): Promise<void> {
    this.#assertOpen();
    // Created inside the click so the browser lets it play.
    this.#mixer ??= new AudioMixer();
    // A screen shared before the camera was refused is kept for the next try, not asked for again.
    let screen = this.#pendingScreen?.video.readyState === 'live' ? this.#pendingScreen : null;
    if (!screen) {
      steps.onStep?.('screen');
      screen = await captureScreen();
      this.#own(screen.video, screen.audio);
      if (this.#closedNow()) return this.#stopOwned();
    }
    this.#pendingScreen = screen;
    const next: MediaSources = { ...this.#media, screen: screen.video, systemAudio: screen.audio };
    if (!next.camera || !next.microphone) {
      steps.onStep?.('camera and microphone');
      const { camera, microphone } = await captureCameraAndMicrophone();
      this.#own(camera, microphone);
      if (this.#closedNow()) return this.#stopOwned();
      next.camera = camera;
      next.microphone = microphone;
    }
    this.#pendingScreen = null;
    await this.#use(next, screen.source, () => steps.onStep?.('audio'));
  }

  /**
   * Resolves when the server ends the interview (its timer, a proctor, the admin API) with what
   * it said, or with null after `timeoutMs` — the service ends and delivers the interview on its
   * own clock whatever this page does.
   */
  waitForEnd(timeoutMs = 30_000): Promise<EndInfo | null> {
    if (this.#ended) return Promise.resolve(this.#ended);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(null);
      }, timeoutMs);
      const off = this.on('ended', (info) => {
        clearTimeout(timer);
        off();
        resolve(info);
      });
    });
  }

  /** Stops publishing and disconnects (the recording keeps what arrived; the server's timer still ends it). */
  leave(): void {
    if (this.#state === 'closed') return;
    this.#shutDown();
    this.#setState('closed');
  }

  // --- media ---------------------------------------------------------------------------------

  #own(...tracks: Array<MediaStreamTrack | null>): void {
    for (const track of tracks) if (track) this.#owned.add(track);
  }

  #stopOwned(): void {
    for (const track of this.#owned) track.stop();
    this.#owned.clear();
  }

  /** Takes `next` as the media to send: watches its tracks, picks the audio route, publishes. */
  async #use(next: MediaSources, screenSource: ScreenSource | undefined, onAudioStart?: () => void): Promise<void> {
    Object.assign(this.#media, next);
    this.#screenSource = screenSource;
    // 'detail' would make Chromium encode the face as screen content at a fraction of the bitrate;
    // the flexible-mode VP9 that 'motion' produces is handled by the recorder's relay.
    if (next.camera && !next.camera.contentHint) next.camera.contentHint = 'motion';
    for (const role of ['screen', 'camera', 'microphone'] as const) {
      this.#watch(role, next[role]);
      this.#timeline?.track(role, next[role]);
    }
    if (next.systemAudio) this.#watchSystemAudio(next.systemAudio);
    if (next.microphone && (next.systemAudio || this.#mixer)) {
      this.#mixer ??= new AudioMixer();
      this.#mixer.setMicrophone(next.microphone);
      this.#mixer.setSystemAudio(next.systemAudio);
    }
    // A route that works is kept across re-shares (changing it republishes the audio); a share that
    // brings computer sound after a microphone-only one tries the mixer.
    if (this.#audioRoute === null || (this.#audioRoute === 'microphone' && next.systemAudio)) {
      if (!next.systemAudio || !this.#mixer) this.#audioRoute = 'microphone';
      else {
        onAudioStart?.();
        this.#audioRoute = (await this.#mixer.resume(MIXER_DEADLINE_MS)) ? 'mixed' : 'unmixed';
      }
    }
    this.emit('audio', this.#audioRoute);
    if (this.#closedNow()) return;
    // Sent now if connected, else at the next join; a failure is an 'error' event (media_failed).
    void this.#syncPublishing();
  }

  /**
   * A published track that ends (the candidate stopped sharing, unplugged the camera) is
   * unpublished and reported. The browser fires 'ended' only when the source ends, not when a page
   * stops the track itself, so each tick also looks at the tracks' state.
   */
  #watch(role: TrackRole, track: MediaStreamTrack | null): void {
    if (!track || this.#watched.has(track)) return;
    this.#watched.add(track);
    track.addEventListener('ended', () => this.#onTrackEnded(role, track));
  }

  #onTrackEnded(role: TrackRole, track: MediaStreamTrack): void {
    if (this.#media[role] !== track || this.#closedNow()) return;
    this.#media[role] = null;
    if (role === 'screen') {
      this.#media.systemAudio = null;
      this.#mixer?.setSystemAudio(null);
    }
    void this.#syncPublishing();
    this.#openGap(role === 'screen' ? 'screen share stopped' : 'track ended');
    this.emit('error', new IngestError(role === 'screen' ? 'screen_share_stopped' : 'track_ended', { track: role }));
  }

  #watchSystemAudio(track: MediaStreamTrack): void {
    if (this.#watched.has(track)) return;
    this.#watched.add(track);
    track.addEventListener('ended', () => {
      if (this.#media.systemAudio !== track) return;
      this.#media.systemAudio = null;
      this.#mixer?.setSystemAudio(null);
    });
  }

  #wanted(track: TrackName): MediaStreamTrack | null {
    if (track === 'audio') {
      if (!this.#media.microphone || this.#audioRoute === null) return null;
      return this.#audioRoute === 'mixed' && this.#mixer ? this.#mixer.track : this.#media.microphone;
    }
    return this.#media[track];
  }

  /** Publishing changes run one at a time, so a reconnect and a re-share cannot interleave. */
  #syncPublishing(): Promise<void> {
    this.#publishing = this.#publishing.then(async () => {
      const current = this.#publisher;
      if (!current) return;
      for (const track of ['screen', 'camera', 'audio'] as const) {
        const next = this.#wanted(track);
        if (this.#published.get(track) === next) continue;
        if (next) await current.publish(track, next, track === 'screen' ? this.#screenSource : undefined);
        else await current.unpublish(track);
        if (current !== this.#publisher) return;
        if (next) this.#published.set(track, next);
        else this.#published.delete(track);
      }
      this.#tick();
    });
    this.#publishing = this.#publishing.catch((error: unknown) => {
      this.emit('error', new IngestError('media_failed', { cause: error instanceof Error ? error.message : String(error) }, {
        message: 'Could not send your media. Retrying when the connection is back.',
      }));
    });
    return this.#publishing;
  }

  // --- timeline ------------------------------------------------------------------------------

  #onTimeline(report: TimelineReport): void {
    if (this.#closedNow()) return;
    this.emit('timeline', report);
    this.#timelineQueue.push(report);
    if (this.#timelineQueue.length > TIMELINE_QUEUE_LIMIT) this.#timelineQueue.shift();
    this.#flushTimeline();
  }

  /**
   * Sends what is queued, in order, a few at a time (a report made as the page goes away leaves at
   * once unless a burst is still being answered). One the server refuses is dropped; one a lost
   * connection did not send is kept for the next join.
   */
  #flushTimeline(): void {
    const signaling = this.#signaling;
    if (!signaling?.socket.connected || this.#joinedGeneration !== this.#generation) return;
    while (this.#timelineInFlight < TIMELINE_IN_FLIGHT && this.#timelineQueue.length > 0) {
      const report = this.#timelineQueue.shift()!;
      this.#timelineInFlight++;
      signaling
        .request('reportEvent', report)
        .catch((error: unknown) => {
          const unsent = error instanceof RequestError && error.code === 'disconnected';
          if (unsent && this.#timelineQueue.length < TIMELINE_QUEUE_LIMIT) this.#timelineQueue.unshift(report);
        })
        .finally(() => {
          this.#timelineInFlight--;
          this.#flushTimeline();
        });
    }
  }

  // --- signalling ----------------------------------------------------------------------------

  #listen(signaling: SignalingClient): void {
    signaling.socket.on('connect', () => void this.#startSession(signaling));
    signaling.socket.on('disconnect', () => {
      this.#generation++;
      this.#publisher?.close();
      this.#publisher = null;
      this.#published.clear();
      // Its own leave() or the end closes the socket: no lost connection, no gap.
      if (this.#closedNow()) return;
      if (this.#join) {
        if (this.#state !== 'moved') this.#setState('reconnecting');
        this.#openGap('connection lost');
      }
      this.#tick();
    });
    signaling.socket.on('connect_error', (error) => {
      const data = (error as Error & { data?: { code?: string; reason?: string } }).data;
      const refusal = data?.code ?? handshakeRefusal(error);
      if (refusal === 'unauthorized') {
        const expired = data?.reason === 'expired' || /expired/.test(error.message);
        this.#fail(new IngestError(expired ? 'link_expired' : 'link_invalid', { cause: error.message }));
      } else if (refusal === 'limit_reached') {
        this.emit('error', new IngestError('limit_reached', { cause: error.message }));
        setTimeout(() => {
          if (this.#state !== 'closed' && !signaling.socket.connected) signaling.socket.connect();
        }, RETRY_AFTER_REFUSAL_MS);
      } else if (refusal === undefined || data?.code === undefined) {
        this.emit('error', new IngestError('unreachable', { cause: refusal ?? error.message }));
      }
    });
    signaling.on('interviewLive', ({ startedAt, endsAt, now }) => {
      this.#live = true;
      this.#clock.sync(now, endsAt);
      // The join's view of the interview is what the getters and the 'time' event read.
      if (this.#join) Object.assign(this.#join.interview, { status: 'live', startedAt, endsAt });
      if (this.#state === 'ready') this.#setState('live');
      this.#tick();
    });
    signaling.on('interviewEnded', ({ endUrl, cause }) => {
      const info: EndInfo = {
        // The server stores the end and moves the interview to finalizing before it tells the pages.
        status: this.#join && (this.#join.interview.status === 'completed' || this.#join.interview.status === 'failed') ? this.#join.interview.status : 'finalizing',
        cause,
        // Served by the node signalling answered from: in a cluster the page's own node may be gone.
        endUrl: new URL(endUrl, signaling.origin).href,
        returnUrl: this.#join?.returnUrl ?? null,
      };
      this.#ended = info;
      this.#shutDown();
      this.#setState('ended');
      this.emit('ended', info);
    });
    signaling.on('mediaReset', () => {
      this.#setState('reconnecting');
      signaling.socket.disconnect().connect();
    });
    signaling.on('interviewMoved', () => this.#setState('moved'));
    signaling.on('linkExpired', () => this.#fail(new IngestError('link_expired')));
    signaling.on('sessionReplaced', () => this.#fail(new IngestError('session_replaced')));
  }

  async #startSession(signaling: SignalingClient): Promise<void> {
    const mine = ++this.#generation;
    this.#published.clear();
    this.#publisher?.close();
    this.#publisher = null;
    try {
      const joined = await signaling.request('join', { interviewId: this.interviewId });
      if (mine !== this.#generation) return;
      if (joined.role !== 'candidate' || !joined.publish) {
        return this.#fail(new IngestError('link_invalid', { cause: 'not a candidate link' }));
      }
      this.#join = joined;
      signaling.knowNodes(joined.nodeUrls);
      this.#joinedGeneration = mine;
      this.#flushTimeline();
      this.#live = joined.interview.status === 'live';
      this.#clock.sync(joined.now, joined.interview.endsAt);
      const created = await Publisher.create(signaling, joined, (state) => {
        this.emit('media', state);
        if (state === 'failed' && mine === this.#generation) {
          this.emit('error', new IngestError('media_failed'));
          signaling.socket.disconnect().connect();
        }
        this.#tick();
      });
      if (mine !== this.#generation) return created.close();
      this.#publisher = created;
      this.emit('media', created.connectionState);
      this.#setState(this.#live ? 'live' : 'ready');
      this.#firstJoin.resolve(joined);
      await this.#syncPublishing();
    } catch (error) {
      if (mine !== this.#generation || this.#state === 'closed' || this.#state === 'ended') return;
      this.#onJoinFailed(signaling, error);
    }
  }

  #onJoinFailed(signaling: SignalingClient, error: unknown): void {
    const code = error instanceof RequestError ? error.code : undefined;
    const cause = error instanceof Error ? error.message : String(error);
    if (code === 'forbidden' || code === 'not_found' || code === 'unauthorized') return this.#fail(new IngestError('link_invalid', { cause }));
    // An ended interview: its interviewEnded notification came first and ended this session.
    if (code === 'conflict' && /ended/.test(cause)) return;
    if (code === 'at_capacity') {
      this.emit('error', new IngestError('at_capacity', { cause }));
      return signaling.restartSoon(RETRY_AFTER_REFUSAL_MS);
    }
    this.emit('error', new IngestError('unreachable', { cause }, { message: `Could not join the interview (${cause}); retrying…` }));
    if (isTransient(error)) signaling.restartSoon();
  }

  // --- state ---------------------------------------------------------------------------------

  #setState(state: SessionState): void {
    if (this.#state === state || this.#state === 'closed' || (this.#state === 'ended' && state !== 'closed')) return;
    const previous = this.#state;
    this.#state = state;
    this.emit('state', { state, previous, interviewStatus: this.interviewStatus });
  }

  /** Recording state and time left, on every change and each second. */
  #tick(): void {
    for (const role of ['screen', 'camera', 'microphone'] as const) {
      const track = this.#media[role];
      if (track?.readyState === 'ended') this.#onTrackEnded(role, track);
    }
    const recording = this.#live && this.#publisher?.connectionState === 'connected' && this.#published.size === 3;
    if (recording !== this.#recording) {
      this.#recording = recording;
      if (recording) this.#closeGap();
      this.emit('recording', recording);
    }
    const remaining = this.#clock.remainingMs();
    const endsAt = this.#join?.interview.endsAt;
    if (this.#live && remaining !== null && endsAt && this.#state !== 'ended' && this.#state !== 'closed') this.emit('time', { remainingMs: remaining, endsAt });
  }

  #openGap(cause: ClientGap['cause']): void {
    if (!this.#live || this.#gap) return;
    this.#gap = { start: new Date(this.#clock.now()), end: null, cause };
    this.emit('gap', { ...this.#gap });
  }

  /** The gap ends once everything is recorded again. */
  #closeGap(): void {
    if (!this.#gap) return;
    this.#gap.end = new Date(this.#clock.now());
    this.emit('gap', { ...this.#gap });
    this.#gap = null;
  }

  #assertOpen(): void {
    if (this.#state === 'closed') throw new IngestError('session_replaced', {}, { fatal: true, message: 'This session is closed.' });
    if (this.#state === 'ended') throw new IngestError('interview_over', { status: this.interviewStatus ?? 'finalizing' });
  }

  #closedNow(): boolean {
    return this.#stopping || this.#state === 'closed' || this.#state === 'ended';
  }

  #fail(error: IngestError): void {
    if (this.#state === 'closed') return;
    this.#firstJoin.reject(error);
    this.#shutDown();
    this.#setState('closed');
    this.emit('error', error);
  }

  /** Stops sending and disconnects: the SDK's own tracks are stopped, the host's only if asked. */
  #shutDown(): void {
    this.#stopping = true;
    clearInterval(this.#ticker);
    this.#timeline?.stop();
    this.#generation++;
    this.#publisher?.close();
    this.#publisher = null;
    this.#signaling?.close();
    this.#stopOwned();
    if (this.#options.stopHostTracks) for (const track of [this.#media.screen, this.#media.camera, this.#media.microphone, this.#media.systemAudio]) track?.stop();
    this.#mixer?.close();
    this.#mixer = null;
    if (this.#recording) {
      this.#recording = false;
      this.emit('recording', false);
    }
  }
}
