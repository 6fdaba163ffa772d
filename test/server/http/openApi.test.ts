import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../../support/testService.ts';

type Document = {
  openapi: string;
  paths: Record<string, Record<string, { summary?: string; tags?: string[]; responses?: Record<string, unknown>; requestBody?: unknown; parameters?: unknown[] }>>;
  webhooks?: Record<string, { post?: { summary?: string; parameters?: Array<{ name: string; in: string }>; requestBody?: { content: Record<string, { schema: JsonSchema }> } } }>;
};
type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; required?: string[]; const?: unknown; enum?: unknown[]; anyOf?: JsonSchema[] };

/** The JSON types a schema accepts, whether written `type: [...]` or `anyOf: [{type}, …]`. */
const typesOf = (schema: JsonSchema): string[] => [...[schema.type ?? []].flat(), ...(schema.anyOf ?? []).flatMap(typesOf)].sort();

/** `/api/interviews/:id` → `/api/interviews/{id}`, `/media/*` → `/media/{*}` (how @fastify/swagger writes them). */
const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}');

describe('the API described once (GET /api/openapi.json)', () => {
  let ts: TestService;
  let document: Document;

  beforeAll(async () => {
    ts = await startTestService();
    const response = await ts.api<Document>('GET', '/api/openapi.json');
    expect(response.status).toBe(200);
    document = response.body;
  });
  afterAll(async () => {
    await ts?.close();
  });

  it('is an OpenAPI 3 document holding every API route the service serves, and no page', () => {
    expect(document.openapi).toMatch(/^3\./);
    const api = ts.service.routes.filter((r) => /^\/(api|healthz|metrics|session|media)\b/.test(r.url));
    expect(api.length).toBeGreaterThan(10);
    // HEAD is listed where a route declares it (media); the route list leaves HEAD out.
    const described = Object.entries(document.paths).flatMap(([p, ops]) => Object.keys(ops).filter((m) => m !== 'head').map((method) => `${method.toUpperCase()} ${p}`));
    expect(described.sort()).toEqual(api.map((r) => `${r.method} ${openApiPath(r.url)}`).sort());
    for (const [p, ops] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect({ route: `${method} ${p}`, summary: Boolean(op.summary), responses: Object.keys(op.responses ?? {}).length > 0 }).toEqual({ route: `${method} ${p}`, summary: true, responses: true });
      }
    }
  });

  it('describes request bodies and parameters from the zod schemas the routes parse with', () => {
    // Read where each thing belongs (a substring of the serialized document would also match it anywhere else).
    const create = document.paths['/api/interviews']!.post!.requestBody as { required?: boolean; content: Record<string, { schema: JsonSchema & { additionalProperties?: unknown } }> };
    const body = create.content['application/json']!.schema;
    expect(create.required).toBe(true);
    expect(body.properties!.durationSeconds).toEqual({ type: 'integer', minimum: 10, maximum: 14400 });
    expect(body.required).toEqual(['durationSeconds']);
    expect(body.additionalProperties).toBe(false);
    expect(Object.keys(body.properties!).sort()).toEqual(['candidateName', 'durationSeconds', 'externalId', 'metadata', 'returnUrl']);
    type Parameter = { name: string; in: string; required?: boolean; schema: Record<string, unknown> };
    const parameter = (path: string, name: string) => (document.paths[path]!.get!.parameters as Parameter[]).find((p) => p.name === name);
    expect(parameter('/api/interviews/{id}', 'id')).toMatchObject({ in: 'path', required: true, schema: { type: 'string', format: 'uuid' } });
    expect(parameter('/api/interviews', 'limit')).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500 } });
    expect(parameter('/api/interviews', 'offset')).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 0 } });
    expect(parameter('/api/interviews', 'status')).toMatchObject({ in: 'query', schema: { enum: ['created', 'live', 'finalizing', 'completed', 'failed'] } });
  });

  it('describes each webhook (OpenAPI 3.1 `webhooks`) with its body from the schemas the outbox builds it with', () => {
    expect(document.openapi).toBe('3.1.0');
    const webhooks = document.webhooks ?? {};
    expect(Object.keys(webhooks).sort()).toEqual(['interview.completed', 'interview.failed', 'interview.flagged', 'interview.gap', 'interview.live']);
    const own: Record<string, string[]> = {
      'interview.live': ['startedAt', 'endsAt'],
      'interview.completed': ['completedAt', 'screenVideo', 'candidateVideo', 'timelineVtt', 'timeline'],
      'interview.failed': ['reason', 'nextRetryAt'],
      'interview.gap': ['gap'],
      'interview.flagged': ['event'],
    };
    for (const [type, fields] of Object.entries(own)) {
      const post = webhooks[type]!.post!;
      expect(post.parameters?.map((p) => `${p.in} ${p.name}`)).toEqual(['header webhook-id', 'header webhook-timestamp', 'header webhook-signature']);
      const body = post.requestBody!.content['application/json']!.schema;
      expect(body.required?.sort()).toEqual(['data', 'timestamp', 'type']);
      expect(body.properties!.type!.const ?? body.properties!.type!.enum?.[0]).toBe(type);
      const data = body.properties!.data!;
      // Every event names its interview: our id, the host's externalId and metadata (null when none).
      expect(Object.keys(data.properties!).sort()).toEqual(['interviewId', 'externalId', 'metadata', ...fields].sort());
      expect(data.required?.sort()).toEqual(['interviewId', 'externalId', 'metadata', ...fields].sort());
      expect(typesOf(data.properties!.externalId!)).toEqual(['null', 'string']);
      expect(typesOf(data.properties!.metadata!)).toEqual(['null', 'object']);
    }
    const gap = webhooks['interview.gap']!.post!.requestBody!.content['application/json']!.schema.properties!.data!.properties!.gap!;
    expect(Object.keys(gap.properties!).sort()).toEqual(['cause', 'end', 'start']);
  });

  it('describes the create with externalId, returnUrl and metadata, its 200 for a repeat and its 409 for a conflict', () => {
    const create = document.paths['/api/interviews']!.post!;
    const body = (create.requestBody as { content: Record<string, { schema: JsonSchema }> }).content['application/json']!.schema;
    expect(Object.keys(body.properties!).sort()).toEqual(['candidateName', 'durationSeconds', 'externalId', 'metadata', 'returnUrl']);
    expect(body.required).toEqual(['durationSeconds']);
    expect(Object.keys(create.responses!).sort()).toEqual(['200', '201', '400', '401', '409', '503', '507']);
    const view = (document.paths['/api/interviews/{id}']!.get!.responses!['200'] as { content: Record<string, { schema: JsonSchema }> }).content['application/json']!.schema;
    for (const field of ['externalId', 'returnUrl', 'metadata']) expect(view.required).toContain(field);
  });

  it('matches the README’s admin API table, route for route', () => {
    const readme = fs.readFileSync(path.join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Admin API'), readme.indexOf('\n## ', readme.indexOf('## Admin API') + 5));
    const documented = [...section.matchAll(/^\| `(GET|POST|DELETE|PUT|PATCH) (\/api\/[^`]+)` \|/gm)].map((m) => `${m[1]} ${openApiPath(m[2]!)}`);
    const described = Object.entries(document.paths)
      .filter(([p]) => p.startsWith('/api/'))
      .flatMap(([p, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${p}`));
    expect(documented.sort()).toEqual(described.sort());
  });
});
