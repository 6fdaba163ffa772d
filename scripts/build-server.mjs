// Bundles the server (server/main.ts and everything of ours it imports) into dist/server/main.mjs
// with esbuild, so a start loads plain JavaScript instead of transpiling TypeScript (tsx) on every
// start: `npm start`, deploy/interview-ingest.service and the tests' service processes run it.
// npm packages stay external (mediasoup, the database drivers, pino's transports, fastify, socket.io…):
// Node loads them from node_modules as it would without the bundle. The exceptions are MikroORM
// (with knex) and the AWS SDK, the two largest to load: see BUNDLED_PACKAGES.
// Idempotent and fast when up to date, like build-client.mjs: the previous build's metafile lists
// every source it read, and nothing is rebuilt while all of them are older than the bundle (a
// changed, added-and-imported or deleted source rebuilds it). `--force` rebuilds anyway;
// `--check` builds nothing and exits 1 when the bundle is missing or stale.
// The bundle is written to a temporary file and renamed into place: a process starting meanwhile
// (two test files building at once) reads the old bundle or the new one, never half of one.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(repoRoot, 'dist', 'server');
/** The bundle `npm start` runs. */
export const serverBundle = path.join(outDir, 'main.mjs');
const metaFile = path.join(outDir, 'build-meta.json');
/** npm ci rewrites node_modules (with the packages' own old file dates): the lock file stands for it. */
const lockFile = 'package-lock.json';

/**
 * npm packages held in the bundle instead of loaded file by file (measured alone, CPU time at
 * import, 5 runs each):
 * - the AWS SDK (with its @smithy and @aws-crypto parts), which documents bundling with esbuild:
 *   152–197 ms from node_modules, 86–97 ms bundled;
 * - MikroORM (every @mikro-orm package the service uses, so that one copy of its core exists) with
 *   knex: 451–606 ms from node_modules, 138–151 ms bundled — the largest part of a start.
 * What these import is bundled with them, except the database drivers and the packages MikroORM and
 * knex only name for other setups (EXTERNAL_DEPENDENCIES).
 */
const BUNDLED_PACKAGES = /^@(aws-sdk|smithy|aws-crypto|mikro-orm)\//;
const EXTERNAL_DEPENDENCIES = new Set(['sqlite3', 'better-sqlite3', 'pg', 'pg-native', 'pg-query-stream', 'mysql', 'mysql2', 'oracledb', 'tedious', 'libsql', 'mariadb', 'ts-morph', 'ts-node', 'esprima']);
/** MikroORM reads its version from a package.json next to it, at a path relative to its own file. */
const MIKRO_ORM_VERSION_FILE = /[\\/]@mikro-orm[\\/]core[\\/]utils[\\/]Utils\.js$/;

/** Why the bundle must be built again, or undefined when it is up to date. */
export function staleReason() {
  if (!fs.existsSync(serverBundle)) return 'not built yet';
  let meta;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  } catch {
    return 'no build metadata';
  }
  const builtAt = fs.statSync(serverBundle).mtimeMs;
  if (!Array.isArray(meta.inputs)) return 'no build metadata';
  for (const input of meta.inputs) {
    const stat = fs.statSync(path.resolve(repoRoot, input), { throwIfNoEntry: false });
    if (!stat) return `${input} is gone`;
    if (stat.mtimeMs > builtAt) return `${input} changed`;
  }
  if ((fs.statSync(path.join(repoRoot, lockFile), { throwIfNoEntry: false })?.mtimeMs ?? 0) > builtAt) return `${lockFile} changed`;
  if (fs.statSync(fileURLToPath(import.meta.url)).mtimeMs > builtAt) return 'the build script changed';
  return undefined;
}

const BANNER = [
  // The bundled packages are CommonJS: their require() of Node's modules goes through this one.
  `import { createRequire as __createRequire } from 'node:module';`,
  `const require = __createRequire(import.meta.url);`,
  `import { staleReason as __staleReason } from '../../scripts/build-server.mjs';`,
  `{ const reason = __staleReason(); if (reason !== undefined) { console.error(\`[interview-ingest] this build of the server is stale (\${reason}): run node scripts/build-server.mjs (or npm start, whose bootstrap builds it)\`); process.exit(1); } }`,
].join('\n');

/**
 * `import.meta.url` of each of our modules, as if it still ran from its own file: code that finds
 * files next to itself (the pages' bundles, package.json, the mediasoup worker's cache) keeps
 * working from the bundle, whose own URL is one folder elsewhere.
 */
const ownModuleUrls = {
  name: 'own-module-urls',
  setup(build) {
    build.onLoad({ filter: /\.(ts|mjs)$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const source = await fs.promises.readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const relative = path.relative(outDir, args.path).split(path.sep).join('/');
      return {
        contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(relative)}, import.meta.url).href`),
        loader: args.path.endsWith('.ts') ? 'ts' : 'js',
      };
    });
  },
};

const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      if (EXTERNAL_DEPENDENCIES.has(name)) return { path: args.path, external: true };
      // Optional MikroORM packages for other setups (entity generator, seeder, CLI, mongo…) stay out.
      if (name.startsWith('@mikro-orm/') && !['@mikro-orm/core', '@mikro-orm/knex', '@mikro-orm/sqlite', '@mikro-orm/postgresql', '@mikro-orm/migrations'].includes(name)) return { path: args.path, external: true };
      if (args.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      if (BUNDLED_PACKAGES.test(args.path)) return undefined;
      return { path: args.path, external: true };
    });
    // Bundled, `require('../../package.json')` would find ours at run time (0.1.0), and MikroORM
    // refuses to start with a "mismatched" version: give it its own package.json.
    build.onResolve({ filter: /^\.\.\/(\.\.\/)?package\.json$/ }, (args) =>
      MIKRO_ORM_VERSION_FILE.test(args.importer) ? { path: path.join(path.dirname(path.dirname(args.importer)), 'package.json') } : undefined,
    );
  },
};

/** Builds the bundle when it is stale (or always with `force`); returns what it did, for a log line. */
export async function buildServer({ force = false } = {}) {
  const reason = force ? 'forced' : staleReason();
  if (reason === undefined) return 'up to date';
  const started = Date.now();
  const { build } = await import('esbuild');
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: [path.join(repoRoot, 'server', 'main.ts')],
    outfile: serverBundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Class and function names stay as written (logs, errors and MikroORM read them).
    keepNames: true,
    sourcemap: 'linked',
    metafile: true,
    write: false,
    logLevel: 'warning',
    plugins: [externalPackages, ownModuleUrls],
    // A stale bundle never runs: before the server's own code, the bundle compares its sources with
    // the build (a few milliseconds) and refuses to start when one changed since.
    banner: { js: BANNER },
  });
  fs.mkdirSync(outDir, { recursive: true });
  const suffix = `.${process.pid}.tmp`;
  // The map first, then the metadata, the bundle last: a bundle newer than its metadata's inputs
  // is only ever a complete build.
  for (const file of result.outputFiles.filter((output) => output.path !== serverBundle)) {
    fs.writeFileSync(file.path + suffix, file.contents);
    fs.renameSync(file.path + suffix, file.path);
  }
  // Only what the staleness check reads (the bundle reads it on every start).
  // Our sources only: the bundled packages change with package-lock.json (checked instead).
  const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.split('/').includes('node_modules'));
  fs.writeFileSync(metaFile + suffix, JSON.stringify({ inputs }));
  fs.renameSync(metaFile + suffix, metaFile);
  const bundle = result.outputFiles.find((output) => output.path === serverBundle);
  fs.writeFileSync(serverBundle + suffix, bundle.contents);
  // Dated when the sources were read: a source saved during the build is newer, so stale.
  fs.utimesSync(serverBundle + suffix, new Date(), new Date(started));
  fs.renameSync(serverBundle + suffix, serverBundle);
  return `built (${reason}) in ${Date.now() - started} ms`;
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  if (process.argv.includes('--check')) {
    const reason = staleReason();
    if (reason !== undefined) {
      console.error(`[build-server] ${path.relative(repoRoot, serverBundle)} is stale (${reason}): run \`node scripts/build-server.mjs\` (or scripts/bootstrap.mjs)`);
      process.exit(1);
    }
    console.log('[build-server] up to date');
  } else {
    console.log(`[build-server] ${path.relative(repoRoot, serverBundle)} ${await buildServer({ force: process.argv.includes('--force') })}`);
  }
}
