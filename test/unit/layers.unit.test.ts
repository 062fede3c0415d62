// Issue 14: no import circles, and no import from a lower layer to a higher one, in src/ and webview/.
// The graph logic is in ./importGraph (pure); this file holds the rules of this repository (the layer
// tables below), checks the real tree against them, and checks the checker on small fake graphs, including
// the real tree with one offending import added in memory (nothing on disk changes).
//
// Every relative module reference is an edge: `import`, `export … from`, `import()` / `require()` (lazy
// loading still runs the other module inside this one's lifetime), and `import type`, which is erased from
// the bundle but still couples the two folders: the importer breaks when the type moves or changes.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  buildGraph,
  checkLayers,
  findCycles,
  folderOf,
  parseImports,
  reachableFrom,
  staleFolders,
  unplacedFolders,
  type ImportGraph,
  type Layer,
} from './importGraph';
import { repoRoot } from './helpers';

/**
 * The extension host, lowest layer first. A file may import files of its own folder and of folders on a
 * strictly lower row; folders on one row never import each other. Written from the imports as they were
 * at issue 14; a new folder fails this test until it gets a row here.
 */
const SRC_LAYERS: Layer[] = [
  { folders: ['src/protocol/generated'], why: 'types npm run gen:types writes from schema/*.json; import nothing' },
  { folders: ['src/protocol'], why: 'messages, guards and records the host and the webviews share; over the generated types' },
  { folders: ['src/shared'], why: 'logic the host and the webviews both run (no vscode, no DOM, no node:); reads protocol types' },
  { folders: ['src/config'], why: 'run config YAML: parse, validate, diagnostics, lenses; needs only schema/*.json today' },
  { folders: ['src/common'], why: 'settings / UI / workspace seams (*.apis.ts: vscode), lazy, emitter; workspace.apis asks config which files are configs' },
  { folders: ['src/runs', 'src/judge'], why: 'the two engines: runs (spawn, follow, registry of run folders) and judge (pairwise engine, providers); neither knows the other' },
  { folders: ['src/python', 'src/views'], why: 'python: interpreter and trainer CLI helpers over runs argv; views: Runs tree, status bar, log channels over runs' },
  { folders: ['src/commands'], why: 'palette bodies for runs, configs, compare, export: over python, views, runs' },
  { folders: ['src/webviews'], why: 'panel plumbing (keyedPanels, panelShell, panelBridge) and the run / judge panels; uses commands pickRun, compareRuns' },
  { folders: ['src/insight', 'src/sweeps'], why: 'features with their own panels on the webviews plumbing; each registers its own commands' },
  { folders: ['src/cli'], why: 'the headless CLI (validate, judge, tokens) over config, judge, insight; never vscode' },
  { folders: ['src'], why: 'entry points only: extension.ts (activate wiring) and cli.ts' },
];

/** The browser bundles (one per panel folder with a main.ts), lowest layer first; same rules as above. */
const WEBVIEW_LAYERS: Layer[] = [
  { folders: ['webview/ui'], why: 'DOM helpers and controls every panel uses' },
  { folders: ['webview', 'webview/charts'], why: 'bridge.ts / vscodeApi.ts (the panel end of panelBridge) and the uPlot charts; over ui' },
  {
    folders: ['webview/chat', 'webview/dashboard', 'webview/generations', 'webview/judge', 'webview/sweep', 'webview/tokens'],
    why: 'one bundle per panel; a panel never imports another',
  },
];

/** What webview/ may take from src/: code that runs in a browser as it is. src/ never imports webview/. */
const BROWSER_SAFE = ['src/protocol/generated', 'src/protocol', 'src/shared'];

/** Folders and files that must not import 'vscode' at all (not even its types). */
const NO_VSCODE = ['src/protocol/generated', 'src/protocol', 'src/shared', 'src/cli'];
const NO_VSCODE_FILES = ['src/cli.ts'];

/** Bundles that run outside the extension host: nothing they load at run time may load 'vscode'. */
const VSCODE_FREE_ENTRIES = ['src/cli.ts', 'src/insight/insightWorker.ts'];

const ROOTS = ['src', 'webview'];

function readTree(): Map<string, string> {
  const sources = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) sources.set(rel, fs.readFileSync(path.join(repoRoot, rel), 'utf8'));
    }
  };
  for (const root of ROOTS) walk(root);
  return sources;
}

function isFile(rel: string): boolean {
  try {
    return fs.statSync(path.join(repoRoot, rel)).isFile();
  } catch {
    return false;
  }
}

const under = (file: string, folder: string) => file.startsWith(folder + '/');
const inFolder = (file: string, folders: readonly string[]) => folders.includes(folderOf(file));

function cycleProblems(graph: ImportGraph): string[] {
  return findCycles(graph.edges).map((cycle) => {
    const steps = cycle.slice(1).map((to, i) => {
      const edge = graph.edges.find((e) => e.from === cycle[i] && e.to === to)!;
      return `  ${edge.from}:${edge.line} ${edge.kind} '${edge.specifier}'`;
    });
    return (
      `import cycle ${cycle.join(' -> ')}:\n${steps.join('\n')}\n` +
      `  Fix: move what both need into a file (or lower folder) that neither imports back, or invert one edge (pass it in as a parameter or callback).`
    );
  });
}

function layerProblems(graph: ImportGraph): string[] {
  const problems = [...checkLayers(graph.edges, SRC_LAYERS), ...checkLayers(graph.edges, WEBVIEW_LAYERS)].map((v) => v.message);
  for (const edge of graph.edges) {
    const where = `${edge.from}:${edge.line} ${edge.kind} '${edge.specifier}' (${edge.to})`;
    if (under(edge.from, 'src') && under(edge.to, 'webview')) {
      problems.push(`${where}: src/ never imports webview/ (browser code). Move what both need down into src/shared or src/protocol.`);
    }
    if (under(edge.from, 'webview') && under(edge.to, 'src') && !inFolder(edge.to, BROWSER_SAFE)) {
      problems.push(
        `${where}: webview/ may import from src/ only ${BROWSER_SAFE.join(', ')}. ` +
          `Move what the panel needs from ${edge.to} down into src/shared (logic) or src/protocol (types), or send it over the panel bridge.`,
      );
    }
  }
  return problems;
}

function placementProblems(graph: ImportGraph): string[] {
  const layers = [...SRC_LAYERS, ...WEBVIEW_LAYERS];
  return [
    ...unplacedFolders(graph.files, layers).map(
      (folder) => `${folder} has no row in the layer table: add it to SRC_LAYERS or WEBVIEW_LAYERS in test/unit/layers.unit.test.ts, on the lowest row above every folder it imports.`,
    ),
    ...staleFolders(graph.files, layers).map((folder) => `${folder} is in the layer table of test/unit/layers.unit.test.ts but holds no .ts file: remove its row entry.`),
    ...graph.unresolved.map((u) => `${u.from}:${u.line} '${u.specifier}' resolves to no file: the checker cannot follow it (fix the path, or teach importGraph.ts the extension).`),
  ];
}

function packageProblems(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const imp of graph.packages) {
    const where = `${imp.from}:${imp.line} ${imp.kind} '${imp.specifier}'`;
    if (imp.specifier === 'vscode') {
      if (!under(imp.from, 'src')) {
        problems.push(`${where}: only the extension host (src/) imports 'vscode'; webview/ talks to it over the panel bridge (webview/bridge.ts).`);
      } else if (inFolder(imp.from, NO_VSCODE) || NO_VSCODE_FILES.includes(imp.from)) {
        problems.push(
          `${where}: ${folderOf(imp.from)} never imports 'vscode' (it runs in the CLI or a browser too). ` +
            `Move the vscode part up into the folder that uses it, or behind a seam in src/common (an interface + its *.apis.ts) passed in.`,
        );
      }
    }
    if (imp.specifier.startsWith('node:') && (under(imp.from, 'webview') || inFolder(imp.from, BROWSER_SAFE))) {
      problems.push(`${where}: ${folderOf(imp.from)} runs in a browser (webview bundles) and may not import Node built-ins. Move the Node part into a host folder and pass the result in.`);
    }
  }
  return problems;
}

function runtimeVscodeProblems(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const entry of VSCODE_FREE_ENTRIES) {
    const chains = reachableFrom(graph.edges, entry, (e) => e.kind !== 'import type');
    for (const imp of graph.packages) {
      if (imp.specifier !== 'vscode' || imp.kind === 'import type' || !chains.has(imp.from)) continue;
      problems.push(
        `${entry} runs outside VS Code but loads 'vscode' through ${chains.get(imp.from)!.join(' -> ')} (${imp.from}:${imp.line}). ` +
          `Cut that chain: move the vscode-free part the entry needs into its own file, or make the import type-only.`,
      );
    }
  }
  return problems;
}

const realSources = readTree();
const realGraph = buildGraph(realSources, isFile);

// ---- the real tree ----

test('the real tree: every .ts file of src/ and webview/ is read and every relative import resolves', (t) => {
  assert.ok(realGraph.files.length > 100, `only ${realGraph.files.length} files found under ${repoRoot}`);
  assert.ok(realGraph.files.includes('src/extension.ts') && realGraph.files.includes('webview/bridge.ts'));
  assert.deepEqual(placementProblems(realGraph), []);
  const cycles = findCycles(realGraph.edges).length;
  const violations = layerProblems(realGraph).length + packageProblems(realGraph).length + runtimeVscodeProblems(realGraph).length;
  t.diagnostic(`${realGraph.files.length} files, ${realGraph.edges.length} relative import edges, ${realGraph.packages.length} package imports, ${cycles} cycles, ${violations} violations`);
});

test('the real tree has no import cycle (type-only and lazy imports included)', () => {
  const problems = cycleProblems(realGraph);
  assert.equal(problems.length, 0, problems.join('\n'));
});

test('the real tree imports only downward in the layer tables; webview/ takes from src/ only protocol and shared', () => {
  const problems = layerProblems(realGraph);
  assert.equal(problems.length, 0, problems.join('\n'));
});

test("only src/ imports 'vscode'; never protocol, shared or the CLI; browser code imports no node: built-ins", () => {
  const problems = packageProblems(realGraph);
  assert.equal(problems.length, 0, problems.join('\n'));
});

test("the CLI and the insight worker load nothing that loads 'vscode'", () => {
  const problems = runtimeVscodeProblems(realGraph);
  assert.equal(problems.length, 0, problems.join('\n'));
});

// ---- the checker can fail: the real tree with one offending change, in memory ----

function realWith(change: (sources: Map<string, string>) => void): ImportGraph {
  const sources = new Map(realSources);
  change(sources);
  return buildGraph(sources, isFile);
}

const append = (sources: Map<string, string>, file: string, line: string) => {
  assert.ok(sources.has(file), `${file} is gone: pick another file for this test`);
  sources.set(file, `${line}\n${sources.get(file)}`);
};

test('an upward import added to the real tree fails, naming the file, the import and the fix', () => {
  const graph = realWith((s) => append(s, 'src/shared/format.ts', "import type { RunRegistry } from '../runs/runRegistry';"));
  const problems = layerProblems(graph);
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0], /^src\/shared\/format\.ts:1 import type '\.\.\/runs\/runRegistry' \(src\/runs\/runRegistry\.ts\): src\/shared \(layer 2\) imports src\/runs, a higher layer/);
  assert.match(problems[0], /Move src\/runs\/runRegistry\.ts .* down .* or invert the dependency/);
});

test('an import between two folders of one row fails', () => {
  const graph = realWith((s) => append(s, 'src/views/runsTree.ts', "import { trainerCliArgs } from '../python/trainerCli';"));
  const problems = layerProblems(graph);
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0], /src\/views and src\/python share layer 6 .* may not import each other/);
});

test('a cycle added to the real tree fails with its path', () => {
  const graph = realWith((s) => append(s, 'src/protocol/generated/events.ts', "export type { EventEnvelope } from '../events';"));
  const problems = cycleProblems(graph);
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0], /^import cycle src\/\S+ -> .* -> src\/\S+:\n/);
  assert.match(problems[0], /src\/protocol\/generated\/events\.ts:1 export from '\.\.\/events'/);
  assert.match(problems[0], /Fix: move what both need .* or invert one edge/);
  assert.ok(layerProblems(graph).some((p) => p.startsWith('src/protocol/generated/events.ts:1 export from')));
});

test('a lazy import() is an edge too', () => {
  const graph = realWith((s) => append(s, 'src/runs/runStore.ts', "const lazyTree = () => import('../views/runsTree');"));
  assert.equal(layerProblems(graph).length, 1);
});

test("vscode in webview/ or shared, a Node built-in in webview/, webview/ reaching past protocol and shared: each fails", () => {
  const graph = realWith((s) => {
    append(s, 'webview/ui/dom.ts', "import type * as vscode from 'vscode';");
    append(s, 'src/shared/downsample.ts', "import * as vscode from 'vscode';");
    append(s, 'webview/charts/logScale.ts', "import * as fs from 'node:fs';");
    append(s, 'webview/dashboard/main.ts', "import { lazy } from '../../src/common/lazy';");
    append(s, 'src/runs/runStore.ts', "import { el } from '../../webview/ui/dom';");
  });
  const problems = [...packageProblems(graph), ...layerProblems(graph)];
  assert.equal(problems.length, 5, problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith("webview/ui/dom.ts:1 import type 'vscode': only the extension host")));
  assert.ok(problems.some((p) => p.startsWith("src/shared/downsample.ts:1 import 'vscode': src/shared never imports 'vscode'")));
  assert.ok(problems.some((p) => p.startsWith("webview/charts/logScale.ts:1 import 'node:fs'")));
  assert.ok(problems.some((p) => p.includes('webview/ may import from src/ only')));
  assert.ok(problems.some((p) => p.includes('src/ never imports webview/')));
});

test("the CLI reaching a module that loads 'vscode' fails with the chain", () => {
  const graph = realWith((s) => append(s, 'src/config/validateConfig.ts', "import { registerConfigLanguage } from './configLanguage';"));
  const problems = runtimeVscodeProblems(graph);
  assert.ok(problems.length >= 1);
  assert.match(problems[0], /^src\/cli\.ts runs outside VS Code but loads 'vscode' through src\/cli\.ts -> src\/cli\/main\.ts -> .*src\/config\/configLanguage\.ts/);
});

test('a new folder fails until it has a row; a removed one until its row goes', () => {
  const graph = realWith((s) => {
    s.set('src/newFeature/thing.ts', "import { lazy } from '../common/lazy';\n");
    s.delete('src/cli.ts');
  });
  const problems = placementProblems(graph);
  assert.ok(problems.some((p) => p.startsWith('src/newFeature has no row in the layer table: add it to SRC_LAYERS')), problems.join('\n'));
  const gone = realWith((s) => {
    for (const file of [...s.keys()]) if (folderOf(file) === 'src/sweeps') s.delete(file);
  });
  assert.ok(placementProblems(gone).some((p) => p.startsWith('src/sweeps is in the layer table')));
});

// ---- the graph functions on tiny fakes ----

test('parseImports sees every kind of module reference and nothing in comments or strings', () => {
  const text = [
    "import a from './a';",
    "import type { B } from './b';",
    "import { type C } from './c';",
    "export { d } from './d';",
    "export * from './e';",
    "const f = () => import('./f');",
    "const g = require('./g');",
    "import h = require('./h');",
    "type I = typeof import('./i');",
    "import './j';",
    "// import k from './k';",
    "const s = \"import l from './l'\";",
    'const t = `${"x"} from \'./m\'`;',
  ].join('\n');
  assert.deepEqual(
    parseImports('x.ts', text).map((i) => `${i.kind} ${i.specifier} ${i.line}`),
    [
      'import ./a 1',
      'import type ./b 2',
      'import ./c 3',
      'export from ./d 4',
      'export from ./e 5',
      'import() ./f 6',
      'require() ./g 7',
      'import = require() ./h 8',
      'import type ./i 9',
      'import ./j 10',
    ],
  );
});

test('buildGraph resolves files, folder indexes and data files, and reports what it cannot resolve', () => {
  const sources = new Map([
    ['src/a/x.ts', "import { y } from './y';\nimport * as j from '../../schema/s.json';\nimport { z } from '../z';\nimport 'vscode';\nimport { q } from './missing';"],
    ['src/a/y.ts', ''],
    ['src/z/index.ts', ''],
  ]);
  const graph = buildGraph(sources, (f) => sources.has(f) || f === 'schema/s.json');
  assert.deepEqual(
    graph.edges.map((e) => `${e.from} -> ${e.to}`),
    ['src/a/x.ts -> src/a/y.ts', 'src/a/x.ts -> schema/s.json', 'src/a/x.ts -> src/z/index.ts'],
  );
  assert.deepEqual(graph.packages.map((p) => p.specifier), ['vscode']);
  assert.deepEqual(graph.unresolved, [{ from: 'src/a/x.ts', specifier: './missing', line: 5 }]);
});

test('findCycles: none in a DAG; one path per circle, shortest, starting and ending at one file; self-imports', () => {
  const e = (pairs: string) => pairs.split(' ').map((p) => ({ from: p[0], to: p[2] }));
  assert.deepEqual(findCycles(e('a>b b>c a>c c>d')), []);
  assert.deepEqual(findCycles(e('a>b b>c c>a')), [['a', 'b', 'c', 'a']]);
  assert.deepEqual(findCycles(e('a>b b>a b>c c>d d>c e>e')), [['a', 'b', 'a'], ['c', 'd', 'c'], ['e', 'e']]);
  // One component with a long and a short way round: the short one is reported.
  assert.deepEqual(findCycles(e('a>b b>c c>d d>a b>a')), [['a', 'b', 'a']]);
});

test('checkLayers: own folder and lower rows pass; a higher row or the same row fails; other tables are skipped', () => {
  const layers: Layer[] = [
    { folders: ['lo'], why: 'bottom' },
    { folders: ['mid/a', 'mid/b'], why: 'peers' },
    { folders: ['hi'], why: 'top' },
  ];
  const edge = (from: string, to: string) => ({ from, to, specifier: `./${to}`, kind: 'import' as const, line: 3 });
  const violations = checkLayers(
    [edge('hi/x.ts', 'lo/y.ts'), edge('mid/a/x.ts', 'mid/a/y.ts'), edge('lo/x.ts', 'hi/y.ts'), edge('mid/a/x.ts', 'mid/b/y.ts'), edge('hi/x.ts', 'elsewhere/y.json')],
    layers,
  );
  assert.deepEqual(
    violations.map((v) => `${v.edge.from} -> ${v.edge.to}`),
    ['lo/x.ts -> hi/y.ts', 'mid/a/x.ts -> mid/b/y.ts'],
  );
  assert.match(violations[0].message, /^lo\/x\.ts:3 import '\.\/hi\/y\.ts' \(hi\/y\.ts\): lo \(layer 0\) imports hi, a higher layer \(2\)\. Move hi\/y\.ts/);
  assert.match(violations[1].message, /mid\/a and mid\/b share layer 1 \("peers"\)/);
  assert.deepEqual(unplacedFolders(['lo/x.ts', 'new/x.ts'], layers), ['new']);
  assert.deepEqual(staleFolders(['lo/x.ts', 'hi/x.ts', 'mid/a/x.ts'], layers), ['mid/b']);
  assert.throws(() => checkLayers([], [...layers, { folders: ['lo'], why: 'again' }]), /lo is listed twice/);
});

test('reachableFrom follows the chosen edges and keeps the chain', () => {
  const edge = (from: string, to: string, kind: 'import' | 'import type' = 'import') => ({ from, to, specifier: to, kind, line: 1 });
  const chains = reachableFrom([edge('a', 'b'), edge('b', 'c'), edge('a', 'd', 'import type')], 'a', (e) => e.kind !== 'import type');
  assert.deepEqual([...chains], [['a', ['a']], ['b', ['a', 'b']], ['c', ['a', 'b', 'c']]]);
});
