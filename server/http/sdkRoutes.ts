import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const defaultSdkDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'client', 'dist', 'sdk', 'v1');
const SCRIPTS = new Set(['interview-ingest.js', 'recorder-compat.js', 'interview-ingest.js.map', 'recorder-compat.js.map']);

/**
 * The browser SDK as scripts a host page includes from this service: GET /sdk/v1/<name>. The path
 * carries the major version; within it a script may change (a fix), so caches keep it briefly and
 * revalidate by ETag. Public code with no secret in it: any origin may load it (CORS and CORP), so
 * a host can use Subresource Integrity or an ES `import()`.
 */
export function registerSdkRoutes(app: FastifyInstance, options: { sdkDir?: string } = {}): void {
  const sdkDir = options.sdkDir ?? defaultSdkDir;
  const cache = new Map<string, { body: Buffer; etag: string; mtimeMs: number }>();

  app.get('/sdk/v1/:name', async (request, reply) => {
    const { name } = request.params as { name: string };
    if (!SCRIPTS.has(name)) return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
    const file = path.join(sdkDir, name);
    let stat: import('node:fs').Stats;
    try {
      stat = await fs.stat(file);
    } catch {
      return reply.code(503).type('text/plain; charset=utf-8').send('The SDK is not built: run node scripts/build-client.mjs');
    }
    let entry = cache.get(name);
    if (!entry || entry.mtimeMs !== stat.mtimeMs) {
      const body = await fs.readFile(file);
      entry = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`, mtimeMs: stat.mtimeMs };
      cache.set(name, entry);
    }
    reply.headers({
      'cache-control': 'public, max-age=300, stale-while-revalidate=86400',
      etag: entry.etag,
      'access-control-allow-origin': '*',
      'cross-origin-resource-policy': 'cross-origin',
      'x-content-type-options': 'nosniff',
    });
    if (request.headers['if-none-match'] === entry.etag) return reply.code(304).send();
    return reply.type(name.endsWith('.map') ? 'application/json; charset=utf-8' : 'text/javascript; charset=utf-8').send(entry.body);
  });
}
