import fs from 'node:fs';
import path from 'node:path';

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;

/** Every TypeScript file under `roots` and the project files it imports (type-only imports too). */
export function importGraph(repoRoot: string, roots: readonly string[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  const visit = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'dist') visit(full);
      } else if (entry.name.endsWith('.ts')) {
        const from = path.relative(repoRoot, full);
        const targets = new Set<string>();
        for (const match of fs.readFileSync(full, 'utf8').matchAll(IMPORT)) {
          const spec = match[1] ?? match[2]!;
          targets.add(path.relative(repoRoot, path.resolve(path.dirname(full), spec)));
        }
        graph.set(from, targets);
      }
    }
  };
  for (const root of roots) visit(path.join(repoRoot, root));
  return graph;
}

/** The folder a file belongs to for layering: `server/<part>`, `recorder-pipeline`, `bench/<file>`, … */
export type FolderOf = (file: string) => string;

/**
 * Groups of folders that import each other in a circle (the strongly connected components of the
 * folder graph with more than one folder), each sorted; none when the folders form layers.
 */
export function folderCycles(graph: Map<string, Set<string>>, folderOf: FolderOf): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    const a = folderOf(from);
    if (!edges.has(a)) edges.set(a, new Set());
    for (const to of targets) {
      const b = folderOf(to);
      if (a !== b) edges.get(a)!.add(b);
    }
  }
  // Tarjan's algorithm.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const connect = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) connect(node);
  return components;
}

/** The imports that make `cycle` a cycle: edges between two of its folders, file by file. */
export function edgesWithin(graph: Map<string, Set<string>>, folderOf: FolderOf, cycle: readonly string[]): string[] {
  return [...graph].flatMap(([from, targets]) =>
    [...targets].filter((to) => folderOf(from) !== folderOf(to) && cycle.includes(folderOf(from)) && cycle.includes(folderOf(to))).map((to) => `${from} → ${to}`),
  );
}
