/** The three streams of an interview recording, in the order of the SDP's m-lines. */
export const trackNames = ['screen', 'camera', 'audio'] as const;
export type TrackName = (typeof trackNames)[number];

/** Which recorded file each track ends up in: the audio goes into both. */
export const recordedFiles = ['screen', 'candidate'] as const;
export type RecordedFile = (typeof recordedFiles)[number];

export const tracksOfFile: Record<RecordedFile, readonly [video: TrackName, audio: TrackName]> = {
  screen: ['screen', 'audio'],
  candidate: ['camera', 'audio'],
};

export function isVideoTrack(track: TrackName): boolean {
  return track !== 'audio';
}
