import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { registerPageRoutes } from '../../../server/http/pageRoutes.ts';

/** A client folder as the build leaves it (`built`: the bundles and the build's metafile) or as a fresh clone has it. */
function clientDir(built: boolean): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'page-routes-'));
  fs.mkdirSync(path.join(dir, 'pages'));
  fs.writeFileSync(path.join(dir, 'pages', 'candidate.html'), '<!doctype html>');
  fs.writeFileSync(path.join(dir, 'pages', 'style.css'), 'body {}');
  if (built) {
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'dist', 'candidate.js'), 'void 0;');
    fs.writeFileSync(path.join(dir, 'dist', 'candidate.js.map'), '{}');
    fs.writeFileSync(path.join(dir, 'dist', 'build-meta.json'), '{"inputs":{},"outputs":{}}');
  }
  return dir;
}

describe('page routes: assets', () => {
  const apps: FastifyInstance[] = [];
  const dirs: string[] = [];
  const serve = (built: boolean) => {
    const dir = clientDir(built);
    dirs.push(dir);
    const app = Fastify();
    registerPageRoutes(app, { clientDir: dir });
    apps.push(app);
    return app;
  };

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers an asset the build did not make with 404, and the ones it made with 200', async () => {
    const app = serve(true);
    for (const name of ['x.map', 'x.js', 'nothing.js.map', 'missing.css']) {
      const response = await app.inject({ method: 'GET', url: `/assets/${name}` });
      expect({ name, status: response.statusCode, body: response.body }).toEqual({ name, status: 404, body: 'Not found' });
    }
    for (const name of ['candidate.js', 'candidate.js.map', 'style.css']) {
      expect((await app.inject({ method: 'GET', url: `/assets/${name}` })).statusCode, name).toBe(200);
    }
  });

  it('answers 503 with how to build it only when the client is not built at all', async () => {
    const app = serve(false);
    const response = await app.inject({ method: 'GET', url: '/assets/candidate.js' });
    expect(response.statusCode).toBe(503);
    expect(response.body).toBe('The client is not built: run node scripts/build-client.mjs');
    // Hand-written files are there either way.
    expect((await app.inject({ method: 'GET', url: '/assets/style.css' })).statusCode).toBe(200);
  });
});
