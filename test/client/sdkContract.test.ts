// The SDK's contract without a browser: what a candidate link must look like, and that every
// refusal code has a message in plain words (no internal code or jargon on the candidate's screen).
import { describe, expect, it } from 'vitest';
import { parseCandidateLink } from '../../client/sdk/candidateLink.ts';
import { INGEST_ERROR_CODES, IngestError } from '../../client/sdk/IngestError.ts';
import { CANDIDATE_TEXT, END_TEXT, howToShareEntireScreen, howToUnblock, howToUnblockInSystem, messageFor } from '../../client/sdk/messages.ts';
import { INTERNAL_WORDS } from '../support/internalWords.ts';

describe('a candidate link', () => {
  const id = '0b4e7b1c-7d4e-4a51-9d2b-2f0b1c3d4e5f';

  it('gives the service origin, the interview and the token', () => {
    expect(parseCandidateLink(`https://ingest.example.com/interview/${id}#token=abc.def`)).toEqual({ origin: 'https://ingest.example.com', interviewId: id, token: 'abc.def' });
  });

  it.each([
    ['not a URL', 'ht!tp://'],
    ['no token', `https://ingest.example.com/interview/${id}`],
    ['a proctor link', `https://ingest.example.com/proctor/${id}#token=x`],
    ['another scheme', `ftp://ingest.example.com/interview/${id}#token=x`],
    ['no interview id', 'https://ingest.example.com/interview/#token=x'],
  ])('is refused as link_invalid when it is %s', (_what, url) => {
    expect(() => parseCandidateLink(url)).toThrowError(expect.objectContaining({ code: 'link_invalid', fatal: true }));
  });
});

describe('the refusal codes', () => {
  it('each have a plain-words message that names no code', () => {
    for (const code of INGEST_ERROR_CODES) {
      const message = messageFor(code);
      expect(message.length, code).toBeGreaterThan(15);
      expect(message, code).toMatch(/^[A-Z]/);
      // No code, snake_case word or raw error name reaches the candidate.
      expect(message, code).not.toMatch(/_|Error\b|undefined|null/);
    }
  });

  it('are fatal only when the session is over', () => {
    const fatal = INGEST_ERROR_CODES.filter((code) => new IngestError(code).fatal);
    expect(fatal.sort()).toEqual(['interview_over', 'link_expired', 'link_invalid', 'session_replaced', 'unsupported_browser']);
  });

  it('name what is missing in words', () => {
    expect(messageFor('unsupported_browser', { missing: ['webrtc', 'screen-capture'] })).toBe(
      'This browser cannot take part in the interview (it has no live video (WebRTC), no screen sharing). Open this link on a computer in Chrome, Edge or Firefox.',
    );
    expect(messageFor('permission_denied', { device: 'microphone' })).toBe('Permission to use your microphone was refused.');
  });
});

describe('the candidate and end pages’ catalogue', () => {
  it('has no internal code or jargon in any sentence it can show', () => {
    const sentences: string[] = [
      ...Object.values(CANDIDATE_TEXT).map((text) => (typeof text === 'function' ? text('screen sharing') : text)),
      ...Object.values(END_TEXT).map((text) => (typeof text === 'function' ? (text as (value: never) => string)(42 as never) : text)),
      ...(['chromium', 'edge', 'firefox', 'safari', 'other'] as const).flatMap((browser) => [
        howToShareEntireScreen(browser),
        ...(['screen', 'camera', 'microphone'] as const).map((device) => howToUnblock(browser, device)),
      ]),
      ...(['macos', 'windows', 'other'] as const).flatMap((system) => (['screen', 'camera', 'microphone'] as const).map((device) => howToUnblockInSystem(system, device) ?? '')),
    ];
    for (const sentence of sentences) expect(sentence, sentence).not.toMatch(INTERNAL_WORDS);
    for (const code of INGEST_ERROR_CODES) expect(messageFor(code), code).not.toMatch(INTERNAL_WORDS);
  });
});
