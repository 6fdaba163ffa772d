// The candidate on a host of its own: a network namespace this test makes, joined to this machine
// by a veth pair, so its link can be shaped (tc tbf on the namespace's side caps the candidate's
// uplink and nothing else). Chromium runs inside it through a wrapper that `ip netns exec`s it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CHROMIUM_PATH, buildClient, launchBrowser, type TestBrowser } from './browser.ts';
import { tempDir } from './testConfig.ts';
import { startTestService, type TestService } from './testService.ts';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

export class CandidateHost {
  readonly name: string;
  /** This machine's address on the link: where the service listens for this candidate. */
  readonly serviceAddress: string;
  readonly candidateAddress: string;
  readonly #hostSide: string;
  readonly #dir = tempDir('candidate-host-');
  #open = true;

  private constructor(id: number) {
    this.name = `iicand${id}`;
    this.#hostSide = `iih${id}`;
    this.serviceAddress = `10.231.${id}.1`;
    this.candidateAddress = `10.231.${id}.2`;
  }

  /**
   * A new namespace on its own /24, on the first free id from a random start (ids 1–250; a
   * namespace name taken by a parallel file or a second checkout fails `ip netns add`).
   */
  static create(): CandidateHost {
    const first = 1 + Math.floor(Math.random() * 250);
    for (let attempt = 0; attempt < 250; attempt++) {
      const id = 1 + ((first + attempt) % 250);
      try {
        ip('netns', 'add', `iicand${id}`);
      } catch {
        continue;
      }
      return CandidateHost.#setUp(id);
    }
    throw new Error('no free candidate host id (iicand1–250 all exist)');
  }

  static #setUp(id: number): CandidateHost {
    const host = new CandidateHost(id);
    const inside = `iic${id}`;
    try {
      ip('link', 'add', host.#hostSide, 'type', 'veth', 'peer', 'name', inside);
      ip('link', 'set', inside, 'netns', host.name);
      ip('addr', 'add', `${host.serviceAddress}/24`, 'dev', host.#hostSide);
      ip('link', 'set', host.#hostSide, 'up');
      ip('netns', 'exec', host.name, 'ip', 'addr', 'add', `${host.candidateAddress}/24`, 'dev', inside);
      ip('netns', 'exec', host.name, 'ip', 'link', 'set', inside, 'up');
      ip('netns', 'exec', host.name, 'ip', 'link', 'set', 'lo', 'up');
    } catch (error) {
      host.close();
      throw error;
    }
    return host;
  }

  /** Caps what the candidate sends (its uplink) at `kbit` kbit/s, with a 200 ms queue. */
  capUplink(kbit: number): void {
    ip('netns', 'exec', this.name, 'tc', 'qdisc', 'replace', 'dev', `iic${this.name.slice('iicand'.length)}`, 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '16kb', 'latency', '200ms');
  }

  /** This machine's side of the link. */
  get hostInterface(): string {
    return this.#hostSide;
  }

  /** Drops this share of what the candidate sends over UDP (random loss on its uplink). */
  loseUplink(probability: number): void {
    execFileSync('ip', ['netns', 'exec', this.name, 'iptables', '-w', '-A', 'OUTPUT', '-p', 'udp', '-m', 'statistic', '--mode', 'random', '--probability', String(probability), '-j', 'DROP'], { stdio: 'pipe' });
  }

  /** Drops everything the candidate sends over UDP until the returned function is called. */
  blackOutUplink(): () => void {
    const rule = ['OUTPUT', '-p', 'udp', '-j', 'DROP'];
    execFileSync('ip', ['netns', 'exec', this.name, 'iptables', '-w', '-I', ...rule], { stdio: 'pipe' });
    return () => execFileSync('ip', ['netns', 'exec', this.name, 'iptables', '-w', '-D', ...rule], { stdio: 'pipe' });
  }

  /** UDP datagrams the loss rule dropped so far. */
  uplinkLosses(): number {
    const out = execFileSync('ip', ['netns', 'exec', this.name, 'iptables', '-w', '-L', 'OUTPUT', '-n', '-v', '-x'], { encoding: 'utf8' });
    return out.split('\n').filter((line) => line.includes('DROP')).reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0] ?? 0), 0);
  }

  /** Bytes the cap sent and packets it dropped so far (proof the shaping was in the path). */
  uplinkStats(): { sentBytes: number; dropped: number } {
    const out = execFileSync('ip', ['netns', 'exec', this.name, 'tc', '-s', 'qdisc', 'show', 'dev', `iic${this.name.slice('iicand'.length)}`], { encoding: 'utf8' });
    const match = /Sent (\d+) bytes \d+ pkt \(dropped (\d+)/.exec(out);
    return { sentBytes: Number(match?.[1] ?? 0), dropped: Number(match?.[2] ?? 0) };
  }

  /** An executable that runs `program` inside the namespace (for a browser's executablePath). */
  wrap(program: string): string {
    const wrapper = path.join(this.#dir, path.basename(program));
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${this.name} ${program} "$@"\n`, { mode: 0o755 });
    return wrapper;
  }

  /** Idempotent: the link, the namespace and the wrapper go. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const args of [['link', 'del', this.#hostSide], ['netns', 'del', this.name]]) {
      try {
        ip(...args);
      } catch {
        // Not made, or already gone.
      }
    }
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}

/**
 * Delay on the candidate's UDP media path, in user space (this kernel has no netem): datagrams the
 * candidate sends to the service's media port are redirected (DNAT, on this host's side of the
 * link) to this relay, which holds each one `oneWayMs` and forwards it from a socket of its own;
 * the answers come back the same way, so the round trip gains 2 × `oneWayMs`. Conntrack rewrites
 * the answers' source back to the media port, so the browser sees the address it was given.
 */
export class DelayRelay {
  readonly #host: CandidateHost;
  readonly #mediaPort: number;
  readonly #oneWayMs: number;
  readonly #upstreams = new Map<string, import('node:dgram').Socket>();
  #listener: import('node:dgram').Socket | undefined;
  #rule: string[] | undefined;
  relayed = 0;

  constructor(host: CandidateHost, mediaPort: number, oneWayMs: number) {
    this.#host = host;
    this.#mediaPort = mediaPort;
    this.#oneWayMs = oneWayMs;
  }

  async start(): Promise<void> {
    const dgram = await import('node:dgram');
    const listener = dgram.createSocket('udp4');
    this.#listener = listener;
    await new Promise<void>((resolve) => listener.bind(0, this.#host.serviceAddress, resolve));
    const relayPort = listener.address().port;
    listener.on('message', (message, from) => {
      const key = `${from.address}:${from.port}`;
      let upstream = this.#upstreams.get(key);
      if (!upstream) {
        const socket = dgram.createSocket('udp4');
        upstream = socket;
        this.#upstreams.set(key, socket);
        socket.bind(0, this.#host.serviceAddress);
        // Answers go back to the candidate from the listener (conntrack maps it to the media port).
        socket.on('message', (answer) => setTimeout(() => listener.send(answer, from.port, from.address), this.#oneWayMs));
      }
      this.relayed++;
      setTimeout(() => upstream.send(message, this.#mediaPort, this.#host.serviceAddress), this.#oneWayMs);
    });
    this.#rule = ['-t', 'nat', 'PREROUTING', '-i', this.#host.hostInterface, '-p', 'udp', '-d', this.#host.serviceAddress, '--dport', String(this.#mediaPort), '-j', 'DNAT', '--to-destination', `${this.#host.serviceAddress}:${relayPort}`];
    execFileSync('iptables', ['-w', ...this.#rule.slice(0, 2), '-I', ...this.#rule.slice(2)], { stdio: 'pipe' });
  }

  /** Idempotent. */
  close(): void {
    if (this.#rule) {
      try {
        execFileSync('iptables', ['-w', ...this.#rule.slice(0, 2), '-D', ...this.#rule.slice(2)], { stdio: 'pipe' });
      } catch {
        // Already gone.
      }
      this.#rule = undefined;
    }
    for (const socket of this.#upstreams.values()) socket.close();
    this.#upstreams.clear();
    this.#listener?.close();
    this.#listener = undefined;
  }
}

/**
 * A service reachable on a new candidate host's link and a Chromium inside that host: the setup
 * every candidate-network test shares. `close()` stops all three, in reverse.
 */
export async function startCandidateHostBed(): Promise<{ host: CandidateHost; ts: TestService; browser: TestBrowser; close: () => Promise<void> }> {
  buildClient();
  const host = CandidateHost.create();
  let ts: TestService | undefined;
  let browser: TestBrowser | undefined;
  const close = async () => {
    await browser?.close();
    await ts?.close();
    host.close();
  };
  try {
    // PORT 0 on the link's address: PUBLIC_URL is http://<that address>:<the port the service got>.
    ts = await startTestService({ HOST: host.serviceAddress, RTC_LISTEN_IP: host.serviceAddress });
    // Screen capture needs a secure context: localhost is one, this address is not (a real
    // deployment serves HTTPS).
    browser = await launchBrowser({ executablePath: host.wrap(CHROMIUM_PATH), args: [`--unsafely-treat-insecure-origin-as-secure=${ts.service.config.publicUrl}`] });
    return { host, ts, browser, close };
  } catch (error) {
    await close();
    throw error;
  }
}
