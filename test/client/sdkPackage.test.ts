// The SDK as a host gets it: the script the service serves (cacheable, loadable from any origin,
// small) and the ESM entry `interview-ingest/client` with its types, checked by compiling a host's file.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../support/browser.ts';
import { startTestService, type TestService } from '../support/testService.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');

describe('the SDK package', () => {
  let ts: TestService;

  beforeAll(async () => {
    buildClient();
    ts = await startTestService();
  });
  afterAll(async () => ts?.close());

  it('is served at /sdk/v1/ as a cacheable script any origin may load, revalidated by ETag', async () => {
    for (const name of ['interview-ingest.js', 'recorder-compat.js']) {
      const response = await fetch(`${ts.url}/sdk/v1/${name}`, { headers: { origin: 'https://host.example' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('cache-control')).toMatch(/^public, max-age=\d+/);
      const body = Buffer.from(await response.arrayBuffer());
      const etag = response.headers.get('etag');
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await fetch(`${ts.url}/sdk/v1/${name}`, { headers: { 'if-none-match': etag! } });
      expect(again.status).toBe(304);
      console.log(`${name}: ${(body.length / 1024).toFixed(1)} KiB, ${(gzipSync(body).length / 1024).toFixed(1)} KiB gzipped`);
    }
    expect((await fetch(`${ts.url}/sdk/v1/other.js`)).status).toBe(404);
    expect((await fetch(`${ts.url}/sdk/v2/interview-ingest.js`)).status).toBe(404);
  });

  it('stays small: the script is on the candidate’s critical path (budget 68 KiB gzipped; mediasoup-client is most of it)', () => {
    const script = fs.readFileSync(path.join(repoRoot, 'client/dist/sdk/v1/interview-ingest.js'));
    expect(gzipSync(script).length).toBeLessThan(68 * 1024);
    // The compat script is a thin layer over the global, not a second copy of the SDK.
    expect(fs.statSync(path.join(repoRoot, 'client/dist/sdk/v1/recorder-compat.js')).size).toBeLessThan(4 * 1024);
  });

  it('exports interview-ingest/client with types a host’s TypeScript compiles against', async () => {
    const consumerDir = fs.mkdtempSync(path.join(repoRoot, '.sdk-consumer-'));
    try {
      fs.writeFileSync(
        path.join(consumerDir, 'host.ts'),
        [
          "import { join, IngestError, type IngestErrorCode, type SessionState } from 'interview-ingest/client';",
          "const session = join('https://ingest.example/interview/00000000-0000-4000-8000-000000000000#token=x');",
          "session.on('state', ({ state }: { state: SessionState }) => console.log(state));",
          "session.on('error', (error: IngestError) => { const code: IngestErrorCode = error.code; console.log(code, error.fatal); });",
          'export const published: Promise<void> = session.publish({ screen: new MediaStream(), camera: new MediaStream(), microphone: new MediaStream() });',
          '',
        ].join('\n'),
      );
      fs.writeFileSync(
        path.join(consumerDir, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022', 'DOM'], noEmit: true, types: [] }, files: ['host.ts'] }),
      );
      const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
      const result = await run(process.execPath, [tsc, '-p', consumerDir]).then(
        () => '',
        (error: { stdout: string }) => error.stdout,
      );
      expect(result).toBe('');
    } finally {
      fs.rmSync(consumerDir, { recursive: true, force: true });
    }
  });
});
