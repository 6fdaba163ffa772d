import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { edgesWithin, folderCycles, importGraph } from './importGraph.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** server/<part>/…, recorder-pipeline/<part>/…, bench files one by one, and the other top folders whole. */
function folderOf(file: string): string {
  const parts = file.split(path.sep);
  if (parts[0] === 'bench') return parts.slice(0, 2).join('/');
  // A file at the top of server/ (Service.ts, errors.ts) is a layer of its own.
  if (parts[0] === 'server' || parts[0] === 'recorder-pipeline' || parts[0] === 'client') return parts.slice(0, 2).join('/');
  return parts[0]!;
}

describe('the layering of the code', () => {
  const graph = importGraph(repoRoot, ['server', 'recorder-pipeline', 'client', 'config', 'shared', 'bench']);

  it('has no import cycle between folders (a folder depends on another, or the other on it, not both)', () => {
    expect(graph.size).toBeGreaterThan(50);
    const cycles = folderCycles(graph, folderOf);
    // On failure: which imports close each cycle.
    expect(cycles.map((cycle) => ({ folders: cycle, imports: edgesWithin(graph, folderOf, cycle) }))).toEqual([]);
  });

  it('keeps the recorder and the shared vocabulary free of the server', () => {
    const offending = [...graph].flatMap(([from, targets]) =>
      (from.startsWith('recorder-pipeline') || from.startsWith('shared')) ? [...targets].filter((to) => to.startsWith('server')).map((to) => `${from} → ${to}`) : [],
    );
    expect(offending).toEqual([]);
  });
});
