// The TypeScript half of the bad-input corpus (test/bad-input/README.md): every `ts-…` case is run through its
// entry point in a worker with a deadline, then checked for its one expected answer, an unchanged input and a
// README row that says what it produced. The `py-…` cases run under pytest (trainer/tests/test_bad_input_corpus.py).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inputsDir, loadCases, readmePath, readmeRows, reportFile, type BadInputCase } from './badInput/corpus';
import { isCorpusWorker, runInWorkers, serveCorpusWorker, type CaseResult } from './badInput/watchdog';

if (isCorpusWorker()) {
  void serveCorpusWorker();
} else {
  registerTests();
}

/** What is wrong with a case's result; empty when it did what the case expects. */
function failures(c: BadInputCase, result: CaseResult): string[] {
  const found: string[] = [];
  if (result.kind !== c.expect.kind) found.push(`answered ${JSON.stringify(result.kind)}, expected ${JSON.stringify(c.expect.kind)}`);
  if (c.expect.message !== undefined && !new RegExp(c.expect.message).test(result.message)) {
    found.push(`message ${JSON.stringify(result.message)} does not match /${c.expect.message}/`);
  }
  if (result.inputChanged) found.push('the entry point changed its input');
  return found;
}

function registerTests(): void {
  const all = loadCases();
  const cases = all.filter((c) => c.entry.startsWith('ts-'));
  const tmpRoot = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sft-bad-input-')));
  let results = new Map<string, CaseResult>();

  describe('bad-input corpus, TypeScript entry points', () => {
    before(async () => {
      results = await runInWorkers(__filename, cases, tmpRoot);
      const report = reportFile();
      if (report) fs.writeFileSync(report, JSON.stringify(Object.fromEntries([...results].map(([id, r]) => [id, { kind: r.kind, message: r.message }]))));
    });
    after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

    for (const c of cases) {
      test(c.xfail ? `${c.id} [xfail: ${c.xfail}]` : c.id, () => {
        const result = results.get(c.id);
        assert.ok(result, `${c.id} produced no result`);
        const found = failures(c, result);
        if (c.xfail) assert.notDeepEqual(found, [], `${c.id} passes now: remove its xfail ("${c.xfail}")`);
        else assert.deepEqual(found, [], `${c.id} (${c.entry} on ${c.input})`);
      });
    }

    test('case ids are unique and every kept input exists', () => {
      const ids = all.map((c) => c.id);
      assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), []);
      const missing = all.filter((c) => !c.generate && !c.tokenizer && !c.absent && !fs.existsSync(path.join(inputsDir, c.input)));
      assert.deepEqual(missing.map((c) => c.input), []);
    });

    test('the README table lists every case with what it produces (node test/bad-input/update-readme.mjs)', { skip: reportFile() !== undefined }, () => {
      const rows = readmeRows(fs.readFileSync(readmePath, 'utf8'));
      assert.deepEqual([...rows.keys()].sort(), all.map((c) => c.id).sort(), 'the README lists other cases than cases/*.json');
      const stale = cases.filter((c) => {
        const row = rows.get(c.id);
        const result = results.get(c.id);
        return !row || !result || row.result !== result.kind || row.message !== result.message;
      });
      assert.deepEqual(stale.map((c) => c.id), [], 'README rows that no longer say what the case produces');
    });
  });
}
