// The timeline's catalogue speaks plain words: every kind has its words, and none of them, nor a
// rendered event with its details, shows a code or a machinery name.
import { describe, expect, it } from 'vitest';
import { TIMELINE_EVENT_KINDS } from '../../shared/timeline.ts';
import { TIMELINE_WORDS, clockWords, eventWords } from '../../client/shared/timelineWords.ts';
import { INTERNAL_WORDS } from '../support/internalWords.ts';

describe('the timeline’s words', () => {
  it('names every kind in plain words, each different', () => {
    for (const kind of TIMELINE_EVENT_KINDS) {
      expect(TIMELINE_WORDS[kind], kind).toBeTruthy();
      expect(TIMELINE_WORDS[kind], kind).not.toMatch(INTERNAL_WORDS);
    }
    expect(new Set(Object.values(TIMELINE_WORDS)).size).toBe(TIMELINE_EVENT_KINDS.length);
  });

  it('puts the details a page reports into words, and ignores the rest', () => {
    expect(eventWords({ kind: 'pasted', details: { target: 'input' } })).toBe('Pasted something in a text field');
    expect(eventWords({ kind: 'screen_share_restarted', details: { surface: 'monitor' } })).toBe('Shared the screen again (an entire screen)');
    expect(eventWords({ kind: 'camera_muted', details: { by: 'browser' } })).toBe('Camera turned off by the browser or the device');
    expect(eventWords({ kind: 'copied', details: { target: 'something_else', extra: 'x_y' } })).toBe('Copied something');
    for (const kind of TIMELINE_EVENT_KINDS) expect(eventWords({ kind, details: { target: 'page', by: 'page', surface: 'window', to: 'browser' } })).not.toMatch(INTERNAL_WORDS);
    expect(eventWords({ kind: 'recording_gap', details: { cause: 'candidate connection lost', seconds: 5, end: '2026-12-07T12:00:00.000Z' } })).toBe('Recording interrupted for 5 s (the candidate’s connection was lost)');
    expect(eventWords({ kind: 'interview_ended', details: { cause: 'timer' } })).toBe('Interview ended (time was up)');
    expect(eventWords({ kind: 'events_dropped', details: { count: 7, lastAt: '2026-12-07T12:00:00.000Z' } })).toBe('Too many events: some were not kept (7 not kept)');
    expect(clockWords(83.4)).toBe('1:23');
    expect(clockWords(-1)).toBe('0:00');
  });
});
