import { describe, expect, it } from 'vitest';
import { RoleTokens } from '../../../server/auth/RoleTokens.ts';

describe('role tokens', () => {
  const tokens = new RoleTokens('key-one');

  it('carry the interview, the role and an expiry', () => {
    const token = tokens.issue('iv-1', 'candidate', 60, 1_000_000);
    expect(tokens.verify(token, 1_000_000)).toEqual({ interviewId: 'iv-1', role: 'candidate', exp: 1060 });
  });

  it('are refused once expired', () => {
    const token = tokens.issue('iv-1', 'proctor', 60, 1_000_000);
    expect(() => tokens.verify(token, 1_060_000)).toThrow('expired');
  });

  it('are refused when signed with another key or altered', () => {
    const foreign = new RoleTokens('key-two').issue('iv-1', 'proctor', 60);
    expect(() => tokens.verify(foreign)).toThrow('bad signature');
    const [, signature] = tokens.issue('iv-1', 'candidate', 60).split('.');
    const promoted = Buffer.from(JSON.stringify({ interviewId: 'iv-1', role: 'proctor', exp: 9e9 })).toString('base64url');
    expect(() => tokens.verify(`${promoted}.${signature}`)).toThrow('bad signature');
  });

  it.each([undefined, 42, '', 'abc', 'a.b.c', 'x'.repeat(2000)])('are refused when malformed (%s)', (token) => {
    expect(() => tokens.verify(token)).toThrow(/malformed|bad signature/);
  });
});
