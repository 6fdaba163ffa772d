// Impairments of the candidate's path, kept on this machine: iptables rules on the loopback in a
// chain of their own (named after the port, so parallel files never share one), removed by
// restore() whatever happened. This kernel has no netem; DROP rules give blocked UDP.
import { execFileSync } from 'node:child_process';

const iptables = (...args: string[]) => execFileSync('iptables', ['-w', ...args], { stdio: 'pipe' });

/** Drops every UDP packet to or from one port on the loopback: a network that lets only TCP through. */
export class UdpBlock {
  readonly #chain: string;
  #active = false;

  constructor(readonly port: number) {
    this.#chain = `IIUDP${port}`;
  }

  block(): void {
    iptables('-N', this.#chain);
    this.#active = true;
    iptables('-A', this.#chain, '-p', 'udp', '--dport', String(this.port), '-j', 'DROP');
    iptables('-A', this.#chain, '-p', 'udp', '--sport', String(this.port), '-j', 'DROP');
    iptables('-I', 'INPUT', '-i', 'lo', '-j', this.#chain);
  }

  /** Packets the rules dropped so far (proof that the path really was blocked). */
  droppedPackets(): number {
    const out = execFileSync('iptables', ['-w', '-L', this.#chain, '-n', '-v', '-x'], { encoding: 'utf8' });
    return out
      .split('\n')
      .filter((line) => line.includes('DROP'))
      .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0] ?? 0), 0);
  }

  /** Idempotent: safe in afterAll whatever happened. */
  restore(): void {
    if (!this.#active) return;
    this.#active = false;
    for (const args of [['-D', 'INPUT', '-i', 'lo', '-j', this.#chain], ['-F', this.#chain], ['-X', this.#chain]]) {
      try {
        iptables(...args);
      } catch {
        // Already gone.
      }
    }
  }
}
