import { afterEach, describe, expect, it } from 'vitest';
import { OriginPolicy } from '../../../server/auth/OriginPolicy.ts';

describe('OriginPolicy', () => {
  const policies: OriginPolicy[] = [];
  const policy = (options: ConstructorParameters<typeof OriginPolicy>[0]) => {
    const made = new OriginPolicy(options);
    policies.push(made);
    return made;
  };
  afterEach(() => {
    for (const made of policies.splice(0)) made.close();
  });

  it("allows EMBED_ORIGINS, PUBLIC_URL's origin, a request without Origin, and an Origin naming the Host it was sent to", async () => {
    const origins = policy({ publicUrl: 'https://ingest.example.com/base', embedOrigins: ['https://app.example.com'] });
    expect(await origins.allows('https://app.example.com', 'ingest.example.com')).toBe(true);
    expect(await origins.allows('https://ingest.example.com', 'node-3.internal')).toBe(true);
    expect(await origins.allows(undefined, 'ingest.example.com')).toBe(true);
    expect(await origins.allows('https://ingest.internal:8443', 'INGEST.internal:8443')).toBe(true);
  });

  it('refuses any other origin, a look-alike, `null` and garbage', async () => {
    const origins = policy({ publicUrl: 'https://ingest.example.com', embedOrigins: ['https://app.example.com'] });
    for (const origin of ['https://evil.example', 'http://app.example.com', 'https://app.example.com:8443', 'https://app.example.com.evil.example', 'null', 'not a url']) {
      expect(await origins.allows(origin, 'ingest.example.com'), origin).toBe(false);
    }
    expect(await origins.allows('https://app.example.com', undefined)).toBe(true);
    expect(await origins.allows('https://other.example', undefined)).toBe(false);
  });

  it('tells where a returnUrl may lead: PUBLIC_URL and EMBED_ORIGINS only', () => {
    const origins = policy({ publicUrl: 'https://ingest.example.com', embedOrigins: ['https://app.example.com'] });
    expect(['https://ingest.example.com', 'https://app.example.com', 'https://evil.example'].map((origin) => origins.isConfigured(origin))).toEqual([true, true, false]);
  });

  it("in a cluster allows every node's origin, and keeps one it has seen after the node is gone (its pages are the ones moving)", async () => {
    let nodes = ['http://127.0.0.1:3101', 'http://127.0.0.1:3102/'];
    let lookups = 0;
    const origins = policy({
      publicUrl: 'http://127.0.0.1:3101',
      embedOrigins: [],
      clusterUrls: async () => {
        lookups++;
        return nodes;
      },
    });
    expect(await origins.allows('http://127.0.0.1:3102', '127.0.0.1:3101')).toBe(true);
    nodes = ['http://127.0.0.1:3101'];
    expect(await origins.allows('http://127.0.0.1:3102', '127.0.0.1:3101')).toBe(true);
    // A node that joins later is found when a page of it first shows up.
    nodes = ['http://127.0.0.1:3101', 'http://127.0.0.1:3103'];
    const before = lookups;
    expect(await origins.allows('http://127.0.0.1:3103', '127.0.0.1:3101')).toBe(true);
    expect(lookups).toBeGreaterThan(before);
    expect(await origins.allows('http://127.0.0.1:3199', '127.0.0.1:3101')).toBe(false);
  });

  it('in a cluster whose registry cannot answer refuses an unknown origin and still allows the configured ones', async () => {
    const origins = policy({
      publicUrl: 'http://127.0.0.1:3101',
      embedOrigins: ['https://app.example.com'],
      clusterUrls: () => Promise.reject(new Error('redis down')),
    });
    expect(await origins.allows('http://127.0.0.1:3102', '127.0.0.1:3101')).toBe(false);
    expect(await origins.allows('https://app.example.com', '127.0.0.1:3101')).toBe(true);
  });
});
