// What a host page hands the SDK: streams or tracks it already holds, in whichever shape it keeps
// them. Normalized here into the four sources the interview uses, each checked before anything is
// published: a missing or ended track, or a screen that is no screen, is a typed refusal.
import { IngestError, type TrackRole } from './IngestError.ts';

/** A MediaStream (its first track of the right kind is used) or a single track. */
export type StreamOrTrack = MediaStream | MediaStreamTrack;

export interface HostMedia {
  /** The screen share (getDisplayMedia). Its audio track, if any, is the computer's sound. */
  screen?: StreamOrTrack | null | undefined;
  /** The camera (getUserMedia). If it also carries audio and no microphone is given, that audio is the microphone. */
  camera?: StreamOrTrack | null | undefined;
  /** The microphone, alone or already mixed with the computer's sound. */
  microphone?: StreamOrTrack | null | undefined;
  /** The computer's sound, when the host holds it apart from the screen. */
  systemAudio?: StreamOrTrack | null | undefined;
}

export interface MediaSources {
  screen: MediaStreamTrack | null;
  camera: MediaStreamTrack | null;
  microphone: MediaStreamTrack | null;
  systemAudio: MediaStreamTrack | null;
}

function isTrack(value: StreamOrTrack): value is MediaStreamTrack {
  return typeof MediaStreamTrack !== 'undefined' && value instanceof MediaStreamTrack;
}

function pick(value: StreamOrTrack | null | undefined, kind: 'audio' | 'video', role: TrackRole): MediaStreamTrack | null {
  if (value === null || value === undefined) return null;
  if (isTrack(value)) {
    if (value.kind !== kind) throw new IngestError(role === 'screen' ? 'not_a_screen' : 'missing_stream', { track: role, cause: `a ${value.kind} track was given as the ${role}` });
    return value;
  }
  if (typeof value.getTracks !== 'function') throw new IngestError('missing_stream', { track: role, cause: `the ${role} is neither a MediaStream nor a MediaStreamTrack` });
  return (kind === 'video' ? value.getVideoTracks() : value.getAudioTracks())[0] ?? null;
}

function audioOf(value: StreamOrTrack | null | undefined): MediaStreamTrack | null {
  if (!value || isTrack(value) || typeof value.getAudioTracks !== 'function') return null;
  return value.getAudioTracks()[0] ?? null;
}

/** The sources `media` names; a role it leaves out is undefined (the earlier one stays). */
export function sourcesOf(media: HostMedia): Partial<MediaSources> {
  const sources: Partial<MediaSources> = {};
  if (media.screen !== undefined) {
    sources.screen = pick(media.screen, 'video', 'screen');
    if (media.screen && !sources.screen) throw new IngestError('not_a_screen', { cause: 'the screen stream has no video track' });
    if (media.systemAudio === undefined) sources.systemAudio = audioOf(media.screen);
  }
  if (media.systemAudio !== undefined) sources.systemAudio = pick(media.systemAudio, 'audio', 'microphone');
  if (media.camera !== undefined) {
    sources.camera = pick(media.camera, 'video', 'camera');
    if (media.camera && !sources.camera) throw new IngestError('no_camera', { cause: 'the camera stream has no video track' });
    if (media.microphone === undefined && audioOf(media.camera)) sources.microphone = audioOf(media.camera);
  }
  if (media.microphone !== undefined) {
    sources.microphone = pick(media.microphone, 'audio', 'microphone');
    if (media.microphone && !sources.microphone) throw new IngestError('no_microphone', { cause: 'the microphone stream has no audio track' });
  }
  for (const [role, track] of [['screen', sources.screen], ['camera', sources.camera], ['microphone', sources.microphone]] as const) {
    if (track?.readyState === 'ended') throw new IngestError(role === 'screen' ? 'screen_share_stopped' : 'track_ended', { track: role });
  }
  return sources;
}

/** The interview needs all three: the first one missing is refused by name. */
export function requireComplete(sources: MediaSources): void {
  for (const role of ['screen', 'camera', 'microphone'] as const) {
    if (!sources[role]) throw new IngestError('missing_stream', { track: role });
  }
}
