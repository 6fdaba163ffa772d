import { withDeadline } from '../shared/deadline.ts';

/**
 * Mixes system audio (from the screen share) and the microphone into ONE track, so the
 * recording has a single audio stream. The output track stays the same when the screen share
 * (and with it the system audio) is replaced, so the audio producer never has to restart.
 */
export class AudioMixer {
  readonly #context: AudioContext;
  readonly #destination: MediaStreamAudioDestinationNode;
  #microphone: MediaStreamAudioSourceNode | null = null;
  #system: MediaStreamAudioSourceNode | null = null;

  constructor() {
    this.#context = new AudioContext();
    this.#destination = this.#context.createMediaStreamDestination();
  }

  get track(): MediaStreamTrack {
    const track = this.#destination.stream.getAudioTracks()[0];
    if (!track) throw new Error('the audio mixer has no output track');
    return track;
  }

  /**
   * Starts the context (browsers create it suspended unless the page has had a user gesture).
   * Resolves whether it runs within `deadlineMs`: without a sound device Firefox's resume() never
   * settles, and a context that does not run sends silence, so the caller then sends the
   * microphone unmixed.
   */
  async resume(deadlineMs: number): Promise<boolean> {
    if (this.#context.state === 'running') return true;
    try {
      await withDeadline(this.#context.resume(), deadlineMs, 'starting the audio mixer');
    } catch {
      // Rejected or too late: the state below says what we have.
    }
    return (this.#context.state as AudioContextState) === 'running';
  }

  setMicrophone(track: MediaStreamTrack): void {
    this.#microphone?.disconnect();
    this.#microphone = this.#context.createMediaStreamSource(new MediaStream([track]));
    this.#microphone.connect(this.#destination);
  }

  /** null: no system audio (the share had none, or it ended); the microphone alone goes on. */
  setSystemAudio(track: MediaStreamTrack | null): void {
    this.#system?.disconnect();
    this.#system = null;
    if (!track) return;
    this.#system = this.#context.createMediaStreamSource(new MediaStream([track]));
    this.#system.connect(this.#destination);
  }

  close(): void {
    this.#microphone?.disconnect();
    this.#system?.disconnect();
    void this.#context.close();
  }
}
