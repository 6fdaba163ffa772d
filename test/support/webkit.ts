// Debian's WebKitGTK (Safari's engine) as a real browser, driven over plain W3C WebDriver HTTP:
// WebKitWebDriver starts its MiniBrowser on an Xvfb display of its own. Debian's build has WebRTC
// compiled out (no RTCPeerConnection), so it is the real "browser without WebRTC" a candidate may
// open a link in. Xvfb and the driver are stopped by pid on close.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { startXvfb } from './firefox.ts';
import { waitFor } from './testConfig.ts';

const DRIVER = '/usr/bin/WebKitWebDriver';
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
/** MiniBrowser that exits at start (a bad flag) leaves `POST /session` hanging forever. */
const SESSION_DEADLINE_MS = 30_000;

export interface WebKitSession {
  /** Opens a URL and waits for its load. */
  goto: (url: string) => Promise<void>;
  /** Runs a function body in the page (`return …`), with args. */
  evaluate: <T>(script: string, ...args: unknown[]) => Promise<T>;
  /** Clicks the element a CSS selector names (a real click: a user gesture). */
  click: (selector: string) => Promise<void>;
  close: () => Promise<void>;
}

async function call<T>(base: string, method: string, route: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const json = (await response.json()) as { value: T & { error?: string; message?: string } };
  if (!response.ok) throw new Error(`WebDriver ${method} ${route}: ${json.value?.error} ${json.value?.message}`);
  return json.value;
}

/** The TCP ports process `pid` listens on (its socket inodes matched in /proc/net/tcp{,6}). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // Closed meanwhile.
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // st 0A: LISTEN.
      if (fields[3] === '0A' && inodes.has(fields[9] ?? '')) ports.push(parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

export async function launchWebKit(): Promise<WebKitSession> {
  const xvfb = await startXvfb();
  let driver: ChildProcess | undefined;
  try {
    // Port 0: the driver binds one the system picks (it prints nothing); read back from /proc.
    const started = spawn(DRIVER, ['--port=0', '--host=127.0.0.1'], { env: { ...process.env, DISPLAY: xvfb.display }, stdio: 'ignore' });
    driver = started;
    const port = await waitFor(
      () => {
        if (started.exitCode !== null || started.signalCode !== null) throw new Error(`WebKitWebDriver exited (${started.exitCode ?? started.signalCode})`);
        return listeningPorts(started.pid!)[0];
      },
      { timeoutMs: 10_000, what: 'WebKitWebDriver to listen' },
    );
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => fetch(`${base}/status`).then((response) => response.ok, () => false), { timeoutMs: 10_000, what: 'WebKitWebDriver to answer' });
    const created = await call<{ sessionId: string }>(
      base,
      'POST',
      '/session',
      {
        capabilities: {
          alwaysMatch: {
            'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation', '--enable-media-stream=true', '--enable-mock-capture-devices=true'] },
          },
        },
      },
      SESSION_DEADLINE_MS,
    );
    const session = `${base}/session/${created.sessionId}`;
    const stopDriver = driver;
    return {
      goto: async (url) => void (await call(session, 'POST', '/url', { url })),
      evaluate: (script, ...args) => call(session, 'POST', '/execute/sync', { script, args }),
      click: async (selector) => {
        const element = await call<Record<string, string>>(session, 'POST', '/element', { using: 'css selector', value: selector });
        await call(session, 'POST', `/element/${Object.values(element)[0]}/click`, {});
      },
      close: async () => {
        await call(session, 'DELETE', '', undefined, 5000).catch(() => undefined);
        stopDriver.kill('SIGKILL');
        xvfb.process.kill('SIGKILL');
      },
    };
  } catch (error) {
    driver?.kill('SIGKILL');
    xvfb.process.kill('SIGKILL');
    throw error;
  }
}
