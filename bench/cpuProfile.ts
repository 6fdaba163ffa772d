// The service's CPU profile over one measuring window (`--profile`): V8's sampling profiler, the
// one `node --cpu-prof` runs, started through the inspector so the profile holds the window only
// and not the set-up, file checks and shutdown around it. The service runs in the bench's process.
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import type { ProfileEntry } from './benchTypes.ts';
import { round } from './procStats.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export class CpuProfile {
  readonly #session: Session;

  private constructor(session: Session) {
    this.#session = session;
  }

  static async start(): Promise<CpuProfile> {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    return new CpuProfile(session);
  }

  /** Stops, writes `file` (open it in Chrome DevTools) and returns the top self-time entries. */
  async stop(file: string, top = 25): Promise<ProfileEntry[]> {
    const { profile } = (await this.#session.post('Profiler.stop')) as unknown as { profile: Profile };
    this.#session.disconnect();
    fs.writeFileSync(file, JSON.stringify(profile));
    return topSelfTime(profile, top);
  }
}

/** Self time per function (summed over its call sites), largest first; percentages of busy time. */
function topSelfTime(profile: Profile, top: number): ProfileEntry[] {
  const byNode = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // A sample's time is the gap to the next sample (V8's convention for timeDeltas[i + 1]).
  for (let i = 0; i < samples.length; i++) byNode.set(samples[i]!, (byNode.get(samples[i]!) ?? 0) + (deltas[i + 1] ?? 0));
  // Shares of the time the main thread was busy: (idle) is the event loop waiting.
  const idle = new Set(profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id));
  const total = [...byNode].filter(([id]) => !idle.has(id)).reduce((sum, [, value]) => sum + value, 0);
  const byFunction = new Map<string, { functionName: string; location: string; micros: number }>();
  for (const node of profile.nodes) {
    const micros = byNode.get(node.id) ?? 0;
    if (micros === 0 || idle.has(node.id)) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    // tsx's transpiled modules report line 0 (1): the file alone says more than a wrong line.
    const location = url ? `${shorten(url)}${lineNumber > 0 ? `:${lineNumber + 1}` : ''}` : '(native)';
    const name = functionName || '(anonymous)';
    const key = `${name} ${location}`;
    const entry = byFunction.get(key) ?? { functionName: name, location, micros: 0 };
    entry.micros += micros;
    byFunction.set(key, entry);
  }
  return [...byFunction.values()]
    .sort((a, b) => b.micros - a.micros)
    .slice(0, top)
    .map((entry) => ({ functionName: entry.functionName, location: entry.location, selfMs: round(entry.micros / 1000, 1), selfPercent: round((100 * entry.micros) / Math.max(1, total), 2) }));
}

function shorten(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const root = path.resolve(import.meta.dirname, '..');
  if (file.startsWith(root)) return path.relative(root, file);
  const modules = file.lastIndexOf('node_modules/');
  return modules >= 0 ? file.slice(modules) : file;
}
