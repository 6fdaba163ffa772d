// Builds the mediasoup worker from the npm package's own sources against Debian's libraries, and
// caches the binary outside the repository. Why: mediasoup's postinstall downloads a prebuilt
// worker (and, for >= 3.13, C++ dependencies) from GitHub, which these machines cannot reach.
//
// The cache entry is keyed by mediasoup version, platform and arch. An entry counts only when its
// stamp (written last, after the binary) names the binary's sha256 and the binary's shared
// libraries all resolve: a half-built or damaged entry is rebuilt.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
export const MEDIASOUP_VERSION = pkg.dependencies.mediasoup;

// meson >= 1.1 is needed; Debian ships 1.0.1. The local pip index has exactly these.
const MESON_VERSION = '1.12.1';
const NINJA_VERSION = '1.13.2';

export function cacheRoot() {
  return process.env.INTERVIEW_INGEST_CACHE ?? path.join(os.homedir(), '.cache', 'interview-ingest');
}

export function workerCacheEntry() {
  const dir = path.join(cacheRoot(), 'mediasoup-worker', `${MEDIASOUP_VERSION}-${process.platform}-${process.arch}`);
  return { dir, binary: path.join(dir, 'mediasoup-worker'), stamp: path.join(dir, 'stamp.json') };
}

function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Returns why the cached worker cannot be used, or null when it can. */
export function cachedWorkerProblem() {
  const { binary, stamp } = workerCacheEntry();
  if (!fs.existsSync(stamp)) return 'no completed build in the cache';
  if (!fs.existsSync(binary)) return 'the stamp exists but the binary is missing';
  let recorded;
  try {
    recorded = JSON.parse(fs.readFileSync(stamp, 'utf8'));
  } catch {
    return 'the stamp is unreadable';
  }
  if (recorded.sha256 !== sha256(binary)) return 'the binary does not match its stamp (damaged)';
  try {
    const libs = execFileSync('ldd', [binary], { encoding: 'utf8' });
    if (libs.includes('not found')) return 'a shared library of the binary is missing';
  } catch {
    return 'ldd cannot read the binary';
  }
  return null;
}

// Each subproject the worker's meson.build asks for, as a thin wrapper around the system library.
// The *_lib variables go to link_whole in the worker's build, so they are empty static libraries.
function subprojects() {
  const emptyLib = (name) => `${name} = static_library('${name}_empty', 'empty.c')\n`;
  return {
    openssl: {
      build: `project('openssl', 'c')\nopenssl_dep = dependency('openssl')\n${emptyLib('libcrypto_lib')}${emptyLib('libssl_lib')}`,
    },
    nlohmann_json: {
      build: `project('nlohmann_json', 'c')\nnlohmann_json_dep = dependency('nlohmann_json')\n`,
    },
    libuv: {
      build: `project('libuv', 'c')\nlibuv_dep = dependency('libuv')\n${emptyLib('libuv')}`,
      options: `option('build_tests', type: 'boolean', value: false)\noption('build_benchmarks', type: 'boolean', value: false)\n`,
    },
    libsrtp2: {
      // Debian installs srtp.h under /usr/include/srtp2; the worker includes <srtp.h>.
      build: `project('libsrtp2', 'c')\nlibsrtp2_dep = declare_dependency(dependencies: dependency('libsrtp2'), compile_args: ['-I/usr/include/srtp2'])\n${emptyLib('libsrtp2')}`,
      options: `option('crypto-library', type: 'string', value: 'openssl')\noption('crypto-library-kdf', type: 'feature', value: 'disabled')\noption('tests', type: 'feature', value: 'disabled')\n`,
    },
    usrsctp: {
      build: `project('usrsctp', 'c')\nusrsctp_dep = dependency('usrsctp')\n${emptyLib('usrsctp')}`,
      options: `option('sctp_build_programs', type: 'boolean', value: false)\n`,
    },
    'abseil-cpp': {
      build:
        `project('abseil-cpp', 'c')\n` +
        `absl_container_dep = dependency('absl_flat_hash_map')\n` +
        `absl_strings_dep = dependency('absl_strings')\n` +
        `absl_types_dep = declare_dependency(dependencies: [dependency('absl_optional'), dependency('absl_variant'), dependency('absl_bad_optional_access'), dependency('absl_bad_variant_access')])\n` +
        emptyLib('absl_container_lib'),
    },
    catch2: {
      // Only the worker's unit tests use Catch2; they are not built.
      build: `project('catch2', 'c')\ncatch2_dep = declare_dependency()\n`,
    },
  };
}

function run(cmd, args, options = {}) {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

function ensureMeson() {
  const pipDir = path.join(cacheRoot(), 'pip', `meson-${MESON_VERSION}-ninja-${NINJA_VERSION}`);
  const meson = path.join(pipDir, 'bin', 'meson');
  const ninjaBin = path.join(pipDir, 'bin', 'ninja');
  if (!fs.existsSync(path.join(pipDir, '.complete'))) {
    fs.rmSync(pipDir, { recursive: true, force: true });
    run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '0', '--target', pipDir,
      `meson==${MESON_VERSION}`, `ninja==${NINJA_VERSION}`]);
    fs.writeFileSync(path.join(pipDir, '.complete'), '');
  }
  return { meson, env: { ...process.env, PYTHONPATH: pipDir, NINJA: ninjaBin, PATH: `${path.join(pipDir, 'bin')}:${process.env.PATH}` } };
}

/** Returns the path of a usable worker binary, building it when the cache has none. */
export function ensureMediasoupWorker({ log = console.log } = {}) {
  const entry = workerCacheEntry();
  const problem = cachedWorkerProblem();
  if (!problem) return entry.binary;

  log(`mediasoup worker ${MEDIASOUP_VERSION}: ${problem}; building it from source (about 5 minutes on 2 cores)`);
  const work = path.join(cacheRoot(), 'tmp', `worker-build-${process.pid}-${Date.now()}`);
  fs.mkdirSync(work, { recursive: true });
  try {
    run('npm', ['pack', '--silent', `mediasoup@${MEDIASOUP_VERSION}`, '--pack-destination', work], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    run('tar', ['xzf', path.join(work, `mediasoup-${MEDIASOUP_VERSION}.tgz`), '-C', work]);
    const workerDir = path.join(work, 'package', 'worker');
    const subDir = path.join(workerDir, 'subprojects');
    for (const wrap of fs.readdirSync(subDir).filter((f) => f.endsWith('.wrap'))) fs.rmSync(path.join(subDir, wrap));
    for (const [name, files] of Object.entries(subprojects())) {
      const dir = path.join(subDir, name);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'meson.build'), files.build);
      fs.writeFileSync(path.join(dir, 'empty.c'), `int interview_ingest_empty_${name.replace(/\W/g, '_')};\n`);
      if (files.options) fs.writeFileSync(path.join(dir, 'meson_options.txt'), files.options);
    }
    const { meson, env } = ensureMeson();
    const buildDir = path.join(workerDir, 'out-build');
    run(meson, ['setup', '--buildtype', 'release', '-Db_ndebug=true', buildDir], { cwd: workerDir, env });
    run(meson, ['compile', '-C', buildDir, 'mediasoup-worker'], { cwd: workerDir, env });

    const built = path.join(buildDir, 'mediasoup-worker');
    fs.rmSync(entry.dir, { recursive: true, force: true });
    fs.mkdirSync(entry.dir, { recursive: true });
    fs.copyFileSync(built, entry.binary);
    fs.chmodSync(entry.binary, 0o755);
    // The stamp goes last: its presence means the binary beside it is complete.
    fs.writeFileSync(entry.stamp, JSON.stringify({ version: MEDIASOUP_VERSION, sha256: sha256(entry.binary), builtAt: new Date().toISOString() }, null, 2));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const after = cachedWorkerProblem();
  if (after) throw new Error(`mediasoup worker build finished but the result is unusable: ${after}`);
  return entry.binary;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const bin = ensureMediasoupWorker();
  console.log(`mediasoup worker ready: ${bin} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
