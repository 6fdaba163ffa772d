// Bundles the pages' scripts (client/<page>/main.ts) into client/dist/<page>.js with esbuild, and
// the browser SDK three ways: client/dist/sdk/v1/interview-ingest.js (script, global
// InterviewIngest) and recorder-compat.js, served under /sdk/v1/; client/dist/sdk/esm/index.js
// with its .d.ts under client/dist/sdk/types/client/sdk/ (package.json exports `interview-ingest/client`).
// Idempotent and fast when up to date: the previous build's metafile lists every input it read
// (including the shared protocol and node_modules), and nothing is rebuilt while all of them are
// older than the outputs. `--force` rebuilds anyway.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const clientDir = path.join(repoRoot, 'client');
const outDir = path.join(clientDir, 'dist');
const metaFile = path.join(outDir, 'build-meta.json');
const pages = ['candidate', 'proctor', 'admin', 'end', 'review'];
const sdkDir = path.join(clientDir, 'sdk');
const sdkOutputs = [path.join(outDir, 'sdk', 'v1', 'interview-ingest.js'), path.join(outDir, 'sdk', 'v1', 'recorder-compat.js'), path.join(outDir, 'sdk', 'esm', 'index.js'), path.join(outDir, 'sdk', 'types', 'client', 'sdk', 'index.d.ts')];
const force = process.argv.includes('--force');

function upToDate() {
  if (force || !fs.existsSync(metaFile)) return false;
  let meta;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  } catch {
    return false;
  }
  const outputs = Object.keys(meta.outputs ?? {}).map((file) => path.resolve(repoRoot, file));
  if (pages.some((page) => !outputs.includes(path.join(outDir, `${page}.js`)))) return false;
  if (sdkOutputs.some((file) => !fs.existsSync(file))) return false;
  outputs.push(...sdkOutputs);
  let oldestOutput = Infinity;
  for (const file of outputs) {
    if (!fs.existsSync(file)) return false;
    oldestOutput = Math.min(oldestOutput, fs.statSync(file).mtimeMs);
  }
  // A new file next to the entries (a new module not yet imported anywhere) cannot matter; a
  // changed or deleted input does.
  for (const input of Object.keys(meta.inputs ?? {})) {
    const file = path.resolve(repoRoot, input);
    if (!fs.existsSync(file) || fs.statSync(file).mtimeMs > oldestOutput) return false;
  }
  return fs.statSync(fileURLToPath(import.meta.url)).mtimeMs <= oldestOutput;
}

if (upToDate()) {
  console.log('[build-client] up to date');
} else {
  const started = Date.now();
  const common = {
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'browser',
    sourcemap: 'linked',
    minify: true,
    metafile: true,
    logLevel: 'warning',
    // mediasoup-client's debug logging reads process.env.
    define: { 'process.env.NODE_ENV': '"production"', 'process.env.DEBUG': 'undefined' },
  };
  const builds = await Promise.all([
    build({ ...common, entryPoints: Object.fromEntries(pages.map((page) => [page, path.join(clientDir, page, 'main.ts')])), outdir: outDir, format: 'iife', target: 'chrome100' }),
    // The script a host page includes: versioned by path, so a breaking change is a new v2/.
    build({
      ...common,
      entryPoints: { 'interview-ingest': path.join(sdkDir, 'global.ts'), 'recorder-compat': path.join(sdkDir, 'recorderCompat.ts') },
      outdir: path.join(outDir, 'sdk', 'v1'),
      format: 'iife',
      target: ['chrome100', 'firefox115', 'safari16'],
    }),
    build({ ...common, entryPoints: { index: path.join(sdkDir, 'index.ts') }, outdir: path.join(outDir, 'sdk', 'esm'), format: 'esm', target: 'es2022', minify: false }),
  ]);
  const result = { metafile: { inputs: Object.assign({}, ...builds.map((b) => b.metafile.inputs)), outputs: Object.assign({}, ...builds.map((b) => b.metafile.outputs)) } };
  // The ESM entry's types: the SDK's own declarations (tsc, declarations only).
  execFileSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(sdkDir, 'tsconfig.types.json')], { cwd: repoRoot, stdio: 'inherit' });
  fs.writeFileSync(metaFile, JSON.stringify(result.metafile));
  console.log(`[build-client] built ${pages.length} page bundles and the SDK in ${Date.now() - started} ms`);
}
