// The editor's data file readers (src/insight/datasetRows.ts, csvReader.ts) against the trainer's
// (trainer/sft_studio/data/readers.py): for .jsonl, .json and .csv files written the ways people write them,
// the same rows with the same `path:line`, and the same messages for the errors both sides word alike.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DataError, readRows } from '../../src/insight/datasetRows';
import { repoRoot, tempDir } from './helpers';

const python = path.join(repoRoot, '.venv', 'bin', 'python');

type Read = { rows: [string, Record<string, unknown>][] } | { error: string };

/** read_rows of each file in the trainer: its rows as [where, data], or the DataError's message. */
function pythonRead(files: readonly string[]): Read[] {
  const script = `
import json, sys
from sft_studio.data.readers import DataError, read_rows
out = []
for f in sys.argv[1:]:
    try:
        out.append({"rows": [[r.where, r.data] for r in read_rows(f)]})
    except DataError as e:
        out.append({"error": str(e)})
print(json.dumps(out))
`;
  const py = spawnSync(python, ['-c', script, ...files], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, PYTHONPATH: path.join(repoRoot, 'trainer') },
  });
  assert.equal(py.status, 0, py.stderr);
  return JSON.parse(py.stdout) as Read[];
}

function editorRead(file: string): Read {
  try {
    return { rows: readRows(file).map((row) => [row.where, { ...row.data }]) };
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    return { error: error.message };
  }
}

const CASES: Record<string, string> = {
  'quoted.csv': 'instruction,input,output\r\n"a, with comma","",plain\r\n"say ""hi""",x,"two\r\nlines"\r\n\r\n\r\nafter blanks,y,z\r\nshort row\r\n',
  'loose.csv': 'instruction,output\nnot "quoted" inside,"closed"then more\n"unclosed at the end,of the file\n',
  'header-only.csv': 'instruction,output\n',
  'unicode.csv': '\ufeffinstruction,output\ncafé,naïve 😀\n',
  'too-many.csv': 'instruction,output\na,b\na,b,c\nd,e\n',
  'huge-field.csv': `instruction,output\na,b\nc,"${'x'.repeat(131_073)}"\n`,
  'pretty.json': `${JSON.stringify([{ instruction: 'a [x]', output: 'b "q" \\ }' }, { instruction: 'c', output: 'd', extra: { nested: [1, { deep: '}' }] } }], null, 4)}\n`,
  'crlf.json': '[\r\n  {"instruction": "a", "output": "b"},\r\n\r\n  {"instruction": "c", "output": "d"}, {"instruction": "e", "output": "f"}\r\n]\r\n',
  'not-object.json': '[\n {"instruction": "a", "output": "b"},\n [1, 2],\n 5\n]\n',
  'empty.json': '[]',
  'lines.jsonl': '{"instruction": "a", "output": "b"}\r\n\n   \n{"instruction": "c", "output": "é"}',
  'not-object.jsonl': '{"instruction": "a", "output": "b"}\n["x"]\n',
};

test('the editor reads .jsonl, .json and .csv rows as the trainer does: same rows, same path:line, same messages', (t) => {
  const dir = tempDir(t);
  const files = Object.entries(CASES).map(([name, text]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  });
  const want = pythonRead(files);
  files.forEach((file, i) => assert.deepEqual(editorRead(file), want[i], path.basename(file)));
  // The cases cover what they are there for.
  const byName = (name: string) => want[Object.keys(CASES).indexOf(name)];
  assert.deepEqual(byName('huge-field.csv'), { error: `${files[5]}:3: not valid CSV (field larger than field limit (131072))` });
  // A row is placed on the line after the previous row's last line: the blank lines before it count as its own.
  assert.deepEqual(
    (byName('quoted.csv') as { rows: [string, unknown][] }).rows.map(([where]) => where.slice(dir.length + 1)),
    ['quoted.csv:2', 'quoted.csv:3', 'quoted.csv:5', 'quoted.csv:8'],
  );
});

test('a 20k-row .json list is read in one pass with every row at its line', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'big.json');
  const rows = Array.from({ length: 20_000 }, (_, i) => ({ instruction: `q ${i}`, input: i % 3 ? '' : 'ctx', output: `a ${'word '.repeat(i % 17)}` }));
  fs.writeFileSync(file, JSON.stringify(rows, null, 2));
  const read = readRows(file);
  assert.equal(read.length, 20_000);
  // JSON.stringify(rows, null, 2) writes 5 lines per row after the opening bracket.
  assert.deepEqual([read[0].line, read[1].line, read[19_999].line], [2, 7, 2 + 5 * 19_999]);
  assert.deepEqual(read[12_345].data, rows[12_345]);
});

test('Parquet is left to the trainer with a message that says how to get its counts', () => {
  assert.throws(
    () => readRows('/data/train.parquet'),
    (error: unknown) =>
      error instanceof DataError &&
      error.message === '/data/train.parquet: Parquet files are read by the trainer only; token insight reads .jsonl, .json and .csv' &&
      /python -m sft_studio train CONFIG --dry-run --json/.test(error.hint),
  );
});
