// The bad-input corpus (test/bad-input/): its cases, the inputs they read, how outcomes are written down
// and the README table that lists them. The Python half (trainer/tests/bad_input_corpus.py) reads the same
// files by the same rules.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers';

export const corpusDir = path.join(repoRoot, 'test', 'bad-input');
export const inputsDir = path.join(corpusDir, 'inputs');
export const readmePath = path.join(corpusDir, 'README.md');
/** Category files in the order the README lists them. */
export const CATEGORIES = ['config', 'dataset', 'events', 'judge', 'tokenizer', 'webview'] as const;

export interface TokenizerSpec {
  /** Tokenizer files left out of the copy of the example model's. */
  remove?: string[];
  /** Files cut to this many bytes. */
  truncate?: Record<string, number>;
  /** Top-level keys set in a JSON file. */
  patch?: Record<string, Record<string, unknown>>;
  /** No folder at all. */
  missing?: boolean;
}

export interface BadInputCase {
  id: string;
  category: string;
  /** Which of the project's entry points reads the input; `ts-…` run here, `py-…` under pytest. */
  entry: string;
  /** Path under inputs/ (for a generated or derived input: where it is made, under a temporary folder). */
  input: string;
  expect: {
    /** What the entry point did: `problem`, `exit 2`, `DataError`, `invalid`, `ok`, … */
    kind: string;
    /** Regular expression the one message must match (written in the syntax JavaScript and Python share). */
    message?: string;
  };
  /** Why the case fails today: it is then expected to fail, and passing fails the run until the mark goes. */
  xfail?: string;
  /** The input is meant not to exist (a path that names nothing). */
  absent?: boolean;
  /** A named generator making an input too big (or too odd) to keep in the repository. */
  generate?: string;
  tokenizer?: TokenizerSpec;
  /** Text encoded with a loaded tokenizer (default "hello world"). */
  encode?: string;
  /** Run config fields (py-data) and `--set` overrides (py-validate). */
  fields?: Record<string, unknown>;
  overrides?: string[];
  /** Seconds after which the case counts as hung (default 10). */
  timeout_s?: number;
}

export interface Outcome {
  kind: string;
  /** One line; the README shows it. */
  message: string;
}

export function loadCases(): BadInputCase[] {
  return CATEGORIES.flatMap((category) => {
    const cases = JSON.parse(fs.readFileSync(path.join(corpusDir, 'cases', `${category}.json`), 'utf8')) as Omit<BadInputCase, 'category'>[];
    return cases.map((c) => ({ ...c, category }));
  });
}

/** Paths in a message as the README shows them: relative to inputs/ (or to the temporary folder of made inputs). */
export function normalise(text: string, tmpRoot: string): string {
  const swap = (s: string, from: string, to: string) => s.split(from).join(to);
  let out = swap(swap(text, `${inputsDir}${path.sep}`, ''), `${tmpRoot}${path.sep}`, '');
  out = swap(out, repoRoot, '<repo>');
  // One line, and no control characters for the README to swallow.
  out = out.replace(/\r?\n/g, ' ⏎ ').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return out.trim();
}

/** A digest of a file or of every file under a folder, to show an entry point changed nothing it read. */
export function digest(target: string): string {
  const hash = createHash('sha256');
  const visit = (p: string) => {
    const stat = fs.statSync(p, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) visit(path.join(p, name));
    } else {
      hash.update(path.relative(target, p)).update(new Uint8Array(fs.readFileSync(p)));
    }
  };
  visit(target);
  return hash.digest('hex');
}

/** The case's rows in the README table: id → the result and message cells (unescaped). */
export function readmeRows(text: string): Map<string, { result: string; message: string }> {
  const rows = new Map<string, { result: string; message: string }>();
  for (const line of text.split('\n')) {
    if (!/^\| \d+ \| `/.test(line)) continue;
    const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
    const id = cells[1].replace(/`/g, '');
    rows.set(id, { result: unfence(cells[4]), message: unfence(cells[5]) });
  }
  return rows;
}

function unfence(cell: string): string {
  const fenced = /^(`+) ?(.*?) ?\1$/.exec(cell);
  return fenced ? fenced[2] : cell;
}

/** What `BAD_INPUT_REPORT=FILE` collects for test/bad-input/update-readme.mjs. */
export function reportFile(): string | undefined {
  return process.env.BAD_INPUT_REPORT || undefined;
}
