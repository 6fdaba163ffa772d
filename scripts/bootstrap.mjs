// Makes `npm start` and `npm test` work on a fresh Debian/Ubuntu clone: installs what is missing,
// idempotently, and takes well under a second when everything is already there.
//   1. Debian packages (ffmpeg; the worker's build dependencies when the worker must be built;
//      Chromium, Firefox ESR, WebKitGTK, Xvfb, coturn, PostgreSQL, Redis, nginx and HAProxy for tests) — installed when running as root, else the exact apt-get line is printed;
//      for tests also moto's S3 server (pip) when it is not on the PATH.
//   2. The mediasoup worker, built offline and cached outside the repository.
//   3. npm dependencies, when package-lock.json changed since the last install.
//   4. The client bundle and the server's (dist/server/main.mjs, what `npm start` runs).
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const purpose = process.argv.includes('--for') ? process.argv[process.argv.indexOf('--for') + 1] : 'start';
const started = Date.now();
const say = (line) => console.log(`[bootstrap] ${line}`);

const RUNTIME_PACKAGES = ['ffmpeg'];
const WORKER_BUILD_PACKAGES = ['build-essential', 'pkg-config', 'python3-pip', 'libssl-dev', 'libuv1-dev', 'libsrtp2-dev', 'libusrsctp-dev', 'libabsl-dev', 'nlohmann-json3-dev'];
// iptables: the fault tests cut a candidate's network for real (rules on the loopback).
// firefox-esr + xvfb: the Firefox tests (Firefox's screen capture needs an X display; headless
// Firefox answers getDisplayMedia with NotFoundError). coturn: the TURN relay test.
// postgresql + redis-server: the cluster tests start their own servers from these binaries.
// iproute2: ip netns / veth / tc tbf give a candidate a host of its own with a shaped uplink.
// webkit2gtk-driver + MiniBrowser (and the GStreamer plugins its media capture needs): Debian's
// WebKitGTK, Safari's engine without WebRTC, the real "unsupported browser" of the candidate tests.
// nginx + haproxy: the deploy tests run deploy/nginx.conf and deploy/haproxy.cfg as operators would.
const WEBKIT_PACKAGES = ['webkit2gtk-driver', 'libwebkit2gtk-4.1-0', 'gstreamer1.0-plugins-good', 'gstreamer1.0-plugins-bad', 'gstreamer1.0-libav', 'gstreamer1.0-nice', 'gstreamer1.0-gl', 'libgl1-mesa-dri', 'xauth'];
const TEST_PACKAGES = ['chromium', 'iptables', 'iproute2', 'firefox-esr', 'xvfb', 'coturn', 'postgresql', 'redis-server', 'nginx', 'haproxy', 'openssl', ...WEBKIT_PACKAGES];
// Servers whose packages start a system-wide instance (PostgreSQL on 5432, Redis on 6379, nginx on
// 80, HAProxy with Debian's stock configuration) under systemd: tests run their own, so one installed here is stopped and not enabled.
const SERVICES_NOT_WANTED = { postgresql: 'postgresql', 'redis-server': 'redis-server', nginx: 'nginx', haproxy: 'haproxy' };

function isInstalled(pkg) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

function ensureDebianPackages(packages, why) {
  // pip may come from elsewhere (pyenv): only ask Debian for it when python3 has no pip at all.
  const wanted = packages.filter((pkg) => pkg !== 'python3-pip' || spawnSync('python3', ['-m', 'pip', '--version']).status !== 0);
  const missing = wanted.filter((pkg) => !isInstalled(pkg));
  if (missing.length === 0) return;
  const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    console.error(`[bootstrap] missing Debian packages (${why}). Install them with:\n  sudo apt-get update && sudo ${command}`);
    process.exit(1);
  }
  say(`installing Debian packages (${why}): ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  // Without systemd (containers, CI) invoke-rc.d never started them; with it, the packages did.
  if (fs.existsSync('/run/systemd/system')) {
    for (const pkg of missing) {
      const unit = SERVICES_NOT_WANTED[pkg];
      if (unit) spawnSync('systemctl', ['disable', '--now', unit], { stdio: 'inherit' });
    }
  }
}

// moto's S3 server: the stale-upload sweep's test needs ListMultipartUploads, which the embedded
// s3rver lacks. Not a Debian package: pip installs it (pinned) where moto_server is not on the PATH.
const MOTO = 'moto[server]==5.2.1';
function ensureMotoServer() {
  if (spawnSync('sh', ['-c', 'command -v moto_server'], { stdio: 'ignore' }).status === 0) return;
  say(`installing ${MOTO} with pip (the stale-upload test's S3 server)`);
  const installed = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', MOTO], { stdio: 'inherit' });
  if (installed.status !== 0) {
    console.error(`[bootstrap] could not install ${MOTO}; install it with:\n  python3 -m pip install '${MOTO}'`);
    process.exit(1);
  }
}

function lockHash() {
  const lock = path.join(repoRoot, 'package-lock.json');
  return createHash('sha256').update(fs.readFileSync(lock)).update(process.version.split('.')[0]).digest('hex');
}

function ensureNpmDependencies(workerBin) {
  const stampFile = path.join(repoRoot, 'node_modules', '.interview-ingest-installed');
  const expected = lockHash();
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === expected) return;
  say('installing npm dependencies (npm ci)');
  // With MEDIASOUP_WORKER_BIN set, mediasoup's postinstall skips its GitHub download.
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, MEDIASOUP_WORKER_BIN: workerBin },
  });
  fs.writeFileSync(stampFile, expected);
}

const { cachedWorkerProblem, ensureMediasoupWorker } = await import('./mediasoup-worker.mjs');

ensureDebianPackages(RUNTIME_PACKAGES, 'ffmpeg records the interviews');
if (cachedWorkerProblem()) ensureDebianPackages(WORKER_BUILD_PACKAGES, 'to build the mediasoup worker');
if (purpose === 'test') ensureDebianPackages(TEST_PACKAGES, 'browser tests drive Chromium, Firefox and WebKitGTK; cluster tests run PostgreSQL and Redis; deploy tests run nginx and HAProxy with a CA made by openssl');
if (purpose === 'test') ensureMotoServer();

const workerBin = ensureMediasoupWorker({ log: say });
ensureNpmDependencies(workerBin);

if (fs.existsSync(path.join(repoRoot, 'scripts', 'build-client.mjs'))) {
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-client.mjs')], { cwd: repoRoot, stdio: 'inherit' });
}

// The server as one JavaScript file: a start loads it without transpiling TypeScript.
const { buildServer } = await import('./build-server.mjs');
const built = await buildServer();
if (built !== 'up to date') say(`server bundle ${built}`);

say(`ready for ${purpose} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
