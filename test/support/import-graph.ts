import fs from 'node:fs';
import path from 'node:path';

export interface SourceImport {
  /** As written: a package name or a relative path. */
  specifier: string;
  typeOnly: boolean;
}

// Static imports and re-exports (`import … from`, `export … from`, bare `import '…'`) and dynamic `import('…')`.
const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The modules a TypeScript source imports, type-only imports included (they make cycles too). */
export function importsOf(source: string): SourceImport[] {
  const found: SourceImport[] = [];
  for (const m of source.matchAll(IMPORT)) {
    const specifier = m[3] ?? m[4]!;
    found.push({ specifier, typeOnly: Boolean(m[2]) });
  }
  return found;
}

export function listFiles(dir: string, ext: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .map((f) => path.join(dir, f));
}

/** The graph of relative imports between `files` (absolute paths), resolved as the bundler resolution does for `.ts`. */
export function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = importsOf(fs.readFileSync(file, 'utf8'))
      .filter((i) => i.specifier.startsWith('.'))
      .map((i) => path.resolve(path.dirname(file), i.specifier))
      .map((base) => [base, `${base}.ts`, path.join(base, 'index.ts')].find((candidate) => known.has(candidate)))
      .filter((target): target is string => target !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Every cycle of the graph, as its strongly connected components of more than one node (or a node importing itself). */
export function cyclesOf(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm.
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
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
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}
