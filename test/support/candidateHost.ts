// The candidate on a host of its own: a network namespace this test makes, joined to this machine
// by a veth pair, so its link can be shaped (tc tbf on the namespace's side caps the candidate's
// uplink and nothing else). Chromium runs inside it through a wrapper that `ip netns exec`s it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './testConfig.ts';

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

  /** A new namespace on its own /24 (`id` 1–250 keeps parallel files apart). */
  static create(id: number): CandidateHost {
    const host = new CandidateHost(id);
    const inside = `iic${id}`;
    try {
      ip('netns', 'add', host.name);
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

