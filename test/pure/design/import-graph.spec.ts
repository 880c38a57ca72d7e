import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * Dependencies point down. The folders of src/ (one per concern) form a graph through their relative imports; it
 * must have no cycle, and the leaves stay leaves: auth/ decides who may call what and never reaches into the audit
 * trail or the appliances. The files at the top of src/ (main, app module, create-app, serve, openapi) compose
 * everything and are left out.
 */
const SRC = resolve('src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function folderOf(file: string): string | undefined {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? parts[0] : undefined;
}

/** Each relative import of `files`, resolved to the path it names. */
function importsOf(files: string[]): { from: string; to: string }[] {
  return files.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((match) => ({
      from: file,
      to: resolve(dirname(file), match[1]),
    })),
  );
}

const IMPORT = /(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g;

function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    if (from === undefined) continue;
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const { to: target } of importsOf([file])) {
      const to = folderOf(target);
      if (to !== undefined && to !== from) edges.add(to);
    }
  }
  return graph;
}

function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'visiting');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('the import graph of src/', () => {
  const graph = folderGraph();

  it('has no cycle between folders', () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  it('auth/ is a leaf: it imports only config/, problems/, common/ and context/ (where a request comes from)', () => {
    for (const to of graph.get('auth') ?? []) expect(['config', 'problems', 'common', 'context']).toContain(to);
  });

  it('config/, problems/, common/ and context/ depend on no other concern', () => {
    const leaves = ['config', 'common', 'context'];
    for (const leaf of leaves) for (const to of graph.get(leaf) ?? []) expect([...leaves, 'problems']).toContain(to);
    for (const to of graph.get('problems') ?? []) expect(['common', 'context', 'logging']).toContain(to);
  });

  it('audit/store/ (the stores, their worker, schema and CLI) is reached only from audit/: the rest sees the trail', () => {
    const outside = importsOf(sourceFiles(SRC).filter((file) => !file.startsWith(join(SRC, 'audit'))));
    expect(outside.filter(({ to }) => to.startsWith(join(SRC, 'audit', 'store')))).toEqual([]);
    // The check reads imports at all: audit/ itself does reach its stores.
    const inside = importsOf(sourceFiles(join(SRC, 'audit')).filter((file) => !file.includes('/store/')));
    expect(inside.some(({ to }) => to.startsWith(join(SRC, 'audit', 'store')))).toBe(true);
  });

  it('the check sees imports at all (a broken parser would pass the others)', () => {
    expect(graph.get('backups')).toEqual(expect.objectContaining({ size: expect.any(Number) }));
    expect([...(graph.get('backups') ?? [])]).toEqual(expect.arrayContaining(['appliances', 'audit', 'auth']));
  });
});
