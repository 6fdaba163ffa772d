/**
 * Plays two recordings of the same interview as one: the screen video leads, the camera video
 * follows. One play/pause and one seek bar drive both; drift is corrected by nudging the
 * follower's playback rate, or by a jump when it is far off (after a stall, say).
 */
export class SyncedPlayback {
  static readonly nudgeAboveSeconds = 0.04;
  static readonly jumpAboveSeconds = 0.5;
  #timer: number | undefined;

  constructor(readonly leader: HTMLVideoElement, readonly follower: HTMLVideoElement) {
    // Both files carry the same audio track: only the leader's is heard.
    follower.muted = true;
    leader.addEventListener('play', () => void this.#follow(() => follower.play()));
    leader.addEventListener('pause', () => follower.pause());
    leader.addEventListener('seeking', () => (follower.currentTime = leader.currentTime));
    leader.addEventListener('ratechange', () => this.#correct());
  }

  async #follow(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch {
      // Autoplay refusals and aborted plays are retried by the next correction.
    }
  }

  start(): void {
    this.stop();
    this.#timer = window.setInterval(() => this.#correct(), 250);
  }

  stop(): void {
    if (this.#timer !== undefined) window.clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Follower minus leader, in seconds. */
  get drift(): number {
    return this.follower.currentTime - this.leader.currentTime;
  }

  #correct(): void {
    const { leader, follower } = this;
    if (leader.paused !== follower.paused) void this.#follow(async () => (leader.paused ? follower.pause() : await follower.play()));
    const drift = this.drift;
    if (Math.abs(drift) > SyncedPlayback.jumpAboveSeconds || leader.paused) {
      if (Math.abs(drift) > 0.01) follower.currentTime = leader.currentTime;
      follower.playbackRate = leader.playbackRate;
    } else if (Math.abs(drift) > SyncedPlayback.nudgeAboveSeconds) {
      // Catch up over about a second rather than jumping, which would stall the decoder.
      follower.playbackRate = leader.playbackRate * (drift > 0 ? 0.9 : 1.1);
    } else {
      follower.playbackRate = leader.playbackRate;
    }
  }
}
