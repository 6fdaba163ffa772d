// Bundles the pages' scripts (client/<page>/main.ts) into client/dist/<page>.js with esbuild.
// Idempotent and fast when up to date: the previous build's metafile lists every input it read
// (including the shared protocol and node_modules), and nothing is rebuilt while all of them are
// older than the outputs. `--force` rebuilds anyway.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const clientDir = path.join(repoRoot, 'client');
const outDir = path.join(clientDir, 'dist');
const metaFile = path.join(outDir, 'build-meta.json');
const pages = ['candidate', 'proctor', 'admin', 'end', 'review'];
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
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: Object.fromEntries(pages.map((page) => [page, path.join(clientDir, page, 'main.ts')])),
    outdir: outDir,
    bundle: true,
    format: 'iife',
    target: 'chrome100',
    platform: 'browser',
    sourcemap: 'linked',
    minify: true,
    metafile: true,
    logLevel: 'warning',
    // mediasoup-client's debug logging reads process.env.
    define: { 'process.env.NODE_ENV': '"production"', 'process.env.DEBUG': 'undefined' },
  });
  fs.writeFileSync(metaFile, JSON.stringify(result.metafile));
  console.log(`[build-client] built ${pages.length} bundles in ${Date.now() - started} ms`);
}
