// The import graph of src/ and webview/ and the rules layers.unit.test.ts holds it to. Pure functions over
// plain data (file texts in, findings out) so the test can check the checker on tiny fake graphs as well as
// on the real tree.
import * as path from 'node:path';
import ts from 'typescript';

/**
 * How a module is pulled in. Every kind is an edge, for cycles and for layering alike: `import type`
 * erases at build time but still couples the two folders (the importer breaks when the type moves), and a
 * lazy `import()` / `require()` still runs the other module's top level inside this one's lifetime.
 */
export type ImportKind = 'import' | 'import type' | 'export from' | 'import()' | 'require()' | 'import = require()';

export interface RawImport {
  specifier: string;
  kind: ImportKind;
  /** 1-based line of the import in its file. */
  line: number;
}

/** Every module reference in a TypeScript file: static, type-only, re-export, dynamic and require. */
export function parseImports(fileName: string, text: string): RawImport[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: RawImport[] = [];
  const add = (literal: ts.Expression, kind: ImportKind) => {
    if (!ts.isStringLiteralLike(literal)) return;
    found.push({ specifier: literal.text, kind, line: source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const typeOnly = node.importClause?.isTypeOnly === true;
      add(node.moduleSpecifier, typeOnly ? 'import type' : 'import');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, 'export from');
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, 'import = require()');
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0], 'import()');
      else if (ts.isIdentifier(node.expression) && node.expression.text === 'require') add(node.arguments[0], 'require()');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      // `typeof import('./x')` in a type position.
      add(node.argument.literal as ts.Expression, 'import type');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

export interface ImportEdge {
  /** Repository-relative, forward slashes. */
  from: string;
  /** Repository-relative path of the file the import resolves to. */
  to: string;
  specifier: string;
  kind: ImportKind;
  line: number;
}

export interface ImportGraph {
  files: string[];
  /** Relative imports, resolved. */
  edges: ImportEdge[];
  /** Bare specifiers ('vscode', 'node:fs', 'yaml'): who imports which package. */
  packages: { from: string; specifier: string; kind: ImportKind; line: number }[];
  /** Relative imports that match no file: the checker cannot vouch for what it does not see. */
  unresolved: { from: string; specifier: string; line: number }[];
}

// TypeScript's order: a file beside the specifier, then a folder's index; '' last, for '.json' and '.css'.
const RESOLVE_SUFFIXES = ['.ts', '.tsx', '.d.ts', '/index.ts', '/index.tsx', ''];

/**
 * Builds the graph from repository-relative paths and their texts. `exists` answers for any other
 * repository-relative path (JSON under schema/, CSS beside a panel) and must be true only for files, not
 * folders; it defaults to "only the given files".
 */
export function buildGraph(sources: ReadonlyMap<string, string>, exists: (file: string) => boolean = (f) => sources.has(f)): ImportGraph {
  const graph: ImportGraph = { files: [...sources.keys()].sort(), edges: [], packages: [], unresolved: [] };
  for (const file of graph.files) {
    for (const imp of parseImports(file, sources.get(file) ?? '')) {
      if (!imp.specifier.startsWith('.')) {
        graph.packages.push({ from: file, ...imp });
        continue;
      }
      const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), imp.specifier));
      const to = RESOLVE_SUFFIXES.map((s) => base + s).find((candidate) => sources.has(candidate) || exists(candidate));
      if (to === undefined) graph.unresolved.push({ from: file, specifier: imp.specifier, line: imp.line });
      else graph.edges.push({ from: file, to, ...imp });
    }
  }
  return graph;
}

/**
 * One cycle per strongly connected component with more than one file (or a file importing itself), each as
 * a path that starts and ends at the same file: [a, b, c, a]. Tarjan's algorithm, iterative, deterministic.
 */
export function findCycles(edges: readonly Pick<ImportEdge, 'from' | 'to'>[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, []);
    if (!next.has(e.to)) next.set(e.to, []);
    next.get(e.from)!.push(e.to);
  }
  for (const targets of next.values()) targets.sort();
  const nodes = [...next.keys()].sort();

  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: string; child: number }[] = [{ node: root, child: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const targets = next.get(frame.node)!;
      if (frame.child < targets.length) {
        const target = targets[frame.child++];
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, child: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }

  const cycles: string[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...component].sort()[0];
    if (members.size === 1 && !next.get(start)!.includes(start)) continue;
    cycles.push(shortestCycleThrough(start, members, next));
  }
  return cycles.sort((a, b) => a[0].localeCompare(b[0]));
}

/** Breadth-first from `start` back to itself inside one component: the shortest cycle to report. */
function shortestCycleThrough(start: string, members: Set<string>, next: Map<string, string[]>): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i];
    for (const target of next.get(node)!) {
      if (!members.has(target)) continue;
      if (target === start) {
        const cycle = [start];
        for (let at = node; at !== start; at = previous.get(at)!) cycle.unshift(at);
        cycle.unshift(start);
        return cycle;
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

/** A row of a layer table: folders (repository-relative) that share one level, and why they sit there. */
export interface Layer {
  folders: readonly string[];
  why: string;
}

export interface LayerViolation {
  edge: ImportEdge;
  message: string;
}

/** The folder a file is in: its dirname. A subfolder is a folder of its own with its own row. */
export function folderOf(file: string): string {
  return path.posix.dirname(file);
}

/**
 * Checks every edge against a stack of layers, lowest first. An import is allowed when both files are in
 * one folder, or when the imported file's folder sits on a strictly lower layer. Folders on one layer may
 * not import each other. Only edges between two folders of this table are checked: one that leaves it
 * (schema/*.json, a panel's CSS, the other side of the host / browser line) is another rule's business, and
 * folders no row names are reported by `unplacedFolders`.
 */
export function checkLayers(edges: readonly ImportEdge[], layers: readonly Layer[]): LayerViolation[] {
  const level = layerLevels(layers);
  const violations: LayerViolation[] = [];
  for (const edge of edges) {
    const fromFolder = folderOf(edge.from);
    const toFolder = folderOf(edge.to);
    if (fromFolder === toFolder) continue;
    const fromLevel = level.get(fromFolder);
    const toLevel = level.get(toFolder);
    if (fromLevel === undefined || toLevel === undefined) continue;
    if (toLevel < fromLevel) continue;
    const where = `${edge.from}:${edge.line} ${edge.kind} '${edge.specifier}' (${edge.to})`;
    const message =
      toLevel === fromLevel
        ? `${where}: ${fromFolder} and ${toFolder} share layer ${fromLevel} ("${layers[fromLevel].why}") and may not import each other. ` +
          `Move what ${fromFolder} needs from ${edge.to} down into a lower layer, invert the dependency (pass it in as a parameter or callback), ` +
          `or give the two folders distinct layers in the table of test/unit/layers.unit.test.ts.`
        : `${where}: ${fromFolder} (layer ${fromLevel}) imports ${toFolder}, a higher layer (${toLevel}). ` +
          `Move ${edge.to} (or the part ${fromFolder} uses) down to layer ${fromLevel} or lower, or invert the dependency ` +
          `(${toFolder} passes it in as a parameter, callback or interface that ${fromFolder} declares).`;
    violations.push({ edge, message });
  }
  return violations;
}

/** Folder → row index; throws when a folder is listed twice (the table itself is wrong). */
export function layerLevels(layers: readonly Layer[]): Map<string, number> {
  const level = new Map<string, number>();
  layers.forEach((layer, i) => {
    for (const folder of layer.folders) {
      if (level.has(folder)) throw new Error(`${folder} is listed twice in the layer table (rows ${level.get(folder)} and ${i})`);
      level.set(folder, i);
    }
  });
  return level;
}

/** Folders that hold source files but have no row in the table. */
export function unplacedFolders(files: readonly string[], layers: readonly Layer[]): string[] {
  const level = layerLevels(layers);
  return [...new Set(files.map(folderOf))].filter((folder) => !level.has(folder)).sort();
}

/** Rows naming folders that hold no source file: a renamed or removed folder left in the table. */
export function staleFolders(files: readonly string[], layers: readonly Layer[]): string[] {
  const present = new Set(files.map(folderOf));
  return layers.flatMap((l) => l.folders).filter((folder) => !present.has(folder));
}

/**
 * Files reachable from `entry` over the edges `follow` accepts, each with the chain of files that reaches
 * it (entry first): the chain goes into a failure message as the path to cut.
 */
export function reachableFrom(edges: readonly ImportEdge[], entry: string, follow: (edge: ImportEdge) => boolean = () => true): Map<string, string[]> {
  const chains = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i];
    for (const edge of edges) {
      if (edge.from !== file || !follow(edge) || chains.has(edge.to)) continue;
      chains.set(edge.to, [...chains.get(file)!, edge.to]);
      queue.push(edge.to);
    }
  }
  return chains;
}
