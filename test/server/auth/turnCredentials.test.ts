import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { turnCredentials } from '../../../server/auth/TurnCredentials.ts';

describe('TURN REST-API credentials', () => {
  it('name their expiry and are the HMAC-SHA1 of that name under the shared secret, as coturn checks them', () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    const server = turnCredentials({ urls: ['turn:127.0.0.1:3478'], secret: 'shared-secret-0123456789' }, 'interview-candidate', 3600, now);
    expect(server.urls).toEqual(['turn:127.0.0.1:3478']);
    expect(server.username).toBe(`${now / 1000 + 3600}:interview-candidate`);
    expect(server.credential).toBe(createHmac('sha1', 'shared-secret-0123456789').update(server.username).digest('base64'));
    // Another secret or another expiry gives another password: nothing to store, nothing reusable.
    expect(turnCredentials({ urls: [], secret: 'another-secret-0123456789' }, 'interview-candidate', 3600, now).credential).not.toBe(server.credential);
    expect(turnCredentials({ urls: [], secret: 'shared-secret-0123456789' }, 'interview-candidate', 7200, now).credential).not.toBe(server.credential);
  });
});
