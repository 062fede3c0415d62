// `judge` end to end: judgeCommand with the arguments a user types, against the scripted server.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { judgeCommand } from '../../src/cli/judgeCommand';
import { preferGood, preferGoodScript, startFakeServer, toolReply } from '../fixtures/judge/fakeOpenAiServer';
import { captureIo, fixture, readJsonl, tempDir } from '../fixtures/judge/helpers';

const ENV = { OPENAI_API_KEY: 'cli-key' };

describe('judge CLI', () => {
  test('judges two JSONL files, prints the summary as the last stdout line, and resumes', async (t) => {
    const server = await startFakeServer(preferGoodScript);
    t.after(() => server.close());
    const out = path.join(tempDir(t), 'judge', 'cli-test');
    const args = [
      '--a', fixture('answers-a.jsonl'),
      '--b', fixture('answers-b.jsonl'),
      '--base-url', server.baseURL,
      '--model', 'judge-test',
      '--out', out,
      '--concurrency', '2',
      '--json',
    ];
    const first = captureIo();
    assert.equal(await judgeCommand(args, first.io, ENV), 0);
    const summary = first.lastJson();
    assert.deepEqual(
      {
        wins: summary.wins,
        ties: summary.ties,
        losses: summary.losses,
        inconsistent: summary.inconsistent,
        consistency: summary.consistency,
        position_bias: summary.position_bias,
        calls: summary.calls,
        errors: summary.errors,
        prompts: summary.prompts,
      },
      { wins: 4, ties: 1, losses: 2, inconsistent: 0, consistency: 1, position_bias: 0.5, calls: 14, errors: 0, prompts: 7 },
    );
    assert.equal(summary.win_rate, 4.5 / 7);
    assert.ok(summary.ci_low < summary.win_rate && summary.win_rate < summary.ci_high);
    assert.equal(summary.stopped, undefined);
    assert.equal(summary.a, 'answers-a');
    assert.ok(!first.stdout().trimEnd().split('\n').at(-1)!.includes('\n'));
    assert.match(first.stdout(), /wins 4 · ties 1 · losses 2 over 7 prompts/);
    assert.match(first.stderr(), /1 prompt\(s\) only in B are skipped: p8/);
    assert.match(first.stderr(), /judge: 14\/14 calls/);
    assert.ok(server.calls.every((c) => c.authorization === 'Bearer cli-key'));
    assert.equal(readJsonl(path.join(out, 'records.jsonl')).length, 7);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')), summary);

    const second = captureIo();
    assert.equal(await judgeCommand(args, second.io, ENV), 0);
    assert.equal(server.calls.length, 14, 'the same --out makes no new call');
    const resumed = second.lastJson();
    assert.equal(resumed.resumed, 14);
    assert.equal(resumed.win_rate, summary.win_rate);
  });

  test('the reference judge on run directories needs no network', async (t) => {
    const run = async (...extra: string[]) => {
      const io = captureIo();
      const code = await judgeCommand(
        ['--a', fixture('run-a'), '--b', fixture('run-b'), '--reference', '--out', tempDir(t), '--json', ...extra],
        io.io,
        {},
      );
      assert.equal(code, 0, io.stderr());
      return io.lastJson();
    };
    const normalized = await run();
    assert.deepEqual([normalized.wins, normalized.ties, normalized.losses, normalized.calls], [3, 2, 1, 12]);
    assert.equal(normalized.a, 'run-a@40');
    const exact = await run('--match', 'exact');
    assert.deepEqual([exact.wins, exact.ties, exact.losses], [2, 3, 1]);
    const before = await run('--a-step', '0');
    assert.deepEqual([before.wins, before.ties, before.losses], [0, 3, 3]);
    assert.equal(before.a, 'run-a@0');
  });

  test('a custom template and one side against its references', async (t) => {
    const references = new Set(['CEILING', 'Breskov', 'rekab', '7', 'blue, green', 'Paris']);
    const server = await startFakeServer(({ user }) => {
      assert.match(user, /^Instruction: /);
      // This judge knows the right answers and picks the one that is literally the reference.
      const [, first, second] = /First answer: (.*)\nSecond answer: (.*)\n/.exec(user)!;
      return toolReply({ argument: 'ref', choice: first === second ? 0 : references.has(first) ? 1 : 2 });
    });
    t.after(() => server.close());
    const io = captureIo();
    const code = await judgeCommand(
      [
        '--a', fixture('run-a'),
        '--vs-reference',
        '--base-url', server.baseURL,
        '--model', 'm',
        '--template', fixture('template.txt'),
        '--out', tempDir(t),
        '--json',
      ],
      io.io,
      ENV,
    );
    assert.equal(code, 0, io.stderr());
    const summary = io.lastJson();
    // run-a@40 equals its reference on e1–e3 (ties); on e4–e6 the judge picks the reference.
    assert.deepEqual([summary.wins, summary.ties, summary.losses, summary.b], [0, 3, 3, 'reference']);
    assert.equal(server.calls.length, 12);
  });

  test('the spend cap through the CLI stops cleanly and says so', async (t) => {
    const server = await startFakeServer(({ user }) => toolReply({ argument: '', choice: preferGood(user) }));
    t.after(() => server.close());
    const io = captureIo();
    const code = await judgeCommand(
      [
        '--a', fixture('answers-a.jsonl'),
        '--b', fixture('answers-b.jsonl'),
        '--base-url', server.baseURL,
        '--model', 'm',
        '--concurrency', '1',
        '--max-cost', '0.012',
        '--price-in', '0.01',
        '--price-out', '0.03',
        '--max-output-tokens', '20',
        '--out', tempDir(t),
        '--json',
      ],
      io.io,
      ENV,
    );
    assert.equal(code, 0);
    const summary = io.lastJson();
    assert.equal(summary.stopped, 'budget');
    assert.ok(summary.calls >= 1 && summary.calls < 14, `${summary.calls} calls`);
    assert.ok(summary.cost <= 0.012, `cost ${summary.cost}`);
    assert.equal(server.calls.length, summary.calls);
    assert.ok(server.calls.every((c) => c.body.max_tokens === 20), 'the reply limit is sent');
    assert.match(io.stdout(), /stopped: budget/);
  });

  test('calls that end in errors give exit status 1', async (t) => {
    const server = await startFakeServer(() => toolReply('{broken'));
    t.after(() => server.close());
    const io = captureIo();
    const code = await judgeCommand(
      ['--a', fixture('answers-a.jsonl'), '--b', fixture('answers-b.jsonl'), '--base-url', server.baseURL, '--model', 'm', '--out', tempDir(t), '--json'],
      io.io,
      ENV,
    );
    assert.equal(code, 1);
    const summary = io.lastJson();
    assert.equal(summary.errors, 14);
    assert.equal(summary.win_rate, null);
  });

  test('wrong arguments give exit status 2 and one clear message', async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [['--a', fixture('answers-a.jsonl'), '--b', fixture('answers-b.jsonl'), '--reference'], /--out DIR is required/],
      [['--a', fixture('answers-a.jsonl'), '--b', fixture('answers-b.jsonl'), '--out', 'x'], /choose a judge/],
      [['--a', 'a', '--b', 'b', '--out', 'x', '--frobnicate'], /unknown option --frobnicate/],
      [
        ['--a', fixture('answers-a.jsonl'), '--b', fixture('answers-b.jsonl'), '--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--max-cost', '1', '--out', tempDir(t)],
        /--max-cost needs --price-in and --price-out/,
      ],
      [['--a', fixture('run-a'), '--b', fixture('run-b'), '--reference', '--step', '5', '--out', tempDir(t)], /steps with generations: 0, 40/],
      [['--a', fixture('answers-a.jsonl'), '--b', fixture('answers-b.jsonl'), '--reference', '--concurrency', '0', '--out', tempDir(t)], /--concurrency must be an integer ≥ 1/],
      [['--a', fixture('answers-a.jsonl'), '--b', fixture('answers-b.jsonl'), '--reference', '--out', tempDir(t)], /needs reference answers/],
    ];
    for (const [args, message] of cases) {
      const io = captureIo();
      assert.equal(await judgeCommand(args, io.io, {}), 2, args.join(' '));
      assert.match(io.stderr(), message);
      assert.equal(io.stdout(), '');
    }
  });

  test('--help prints the usage', async () => {
    const io = captureIo();
    assert.equal(await judgeCommand(['--help'], io.io, {}), 0);
    assert.match(io.stdout(), /usage: sft-studio judge --a/);
  });
});
