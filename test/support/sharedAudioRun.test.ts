import { describe, expect, it } from 'vitest';
import { sharedAudioRun } from './recordedInterview.ts';

// The helper decides whether both recordings hold the same audio, so it must not be fooled by
// repeated packets (silence) and must still notice when the audio differs.
describe('sharedAudioRun', () => {
  const silence = 'silence';
  const tone = (n: number) => `tone-${n}`;
  // Chromium's fake microphone: a short beep, then identical silent frames.
  const audio = Array.from({ length: 400 }, (_, i) => (i % 50 < 10 ? tone(i) : silence));

  it('aligns files that start packets apart even when their first packets are silent', () => {
    const startsLater = audio.slice(12); // begins in a silent stretch: no single packet is an anchor
    expect(sharedAudioRun(startsLater, audio)).toBe(startsLater.length);
    expect(sharedAudioRun(audio, startsLater)).toBe(startsLater.length);
  });

  it('reports little in common for different audio', () => {
    const other = audio.map((packet, i) => (packet === silence ? silence : `other-${i}`));
    expect(sharedAudioRun(audio, other)).toBeLessThan(0.9 * audio.length);
  });
});
