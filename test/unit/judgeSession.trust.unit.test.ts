// The judge panel trusts nothing it reads from disk or the webview: a stored panel-request.json is
// validated, names only known runs, and a resume sends nothing before the user confirms the
// endpoint; one broken summary.json does not blank the history.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { listJudgements, OpenAiJudgeProvider, readRequest, ReferenceJudge, REQUEST_FILE, writeRequest } from '../../src/judge';
import type { RunEvent } from '../../src/protocol/events';
import { isJudgeHostMessage, type JudgeChoice, type StartParams } from '../../src/protocol/judge';
import type { RunSummary } from '../../src/protocol/runSummary';
import { JudgeController, LiveJudgement, type JudgeActions, type RemoteJudge } from '../../src/webviews/judgeSession';
import { preferGoodScript, startFakeServer, type FakeServer } from '../fixtures/judge/fakeOpenAiServer';
import { fixture, tempDir } from '../fixtures/judge/helpers';

type T = { after(fn: () => void | Promise<void>): void };

/** A runs folder with copies of the two fixture runs (the judge writes next to them). */
function runsFolder(t: T) {
  const root = tempDir(t);
  for (const name of ['run-a', 'run-b']) {
    fs.mkdirSync(path.join(root, name));
    fs.copyFileSync(fixture(name, 'events.jsonl'), path.join(root, name, 'events.jsonl'));
  }
  return { root, runA: path.join(root, 'run-a'), runB: path.join(root, 'run-b') };
}

function registryOf(runDirs: string[]) {
  const runs: RunSummary[] = runDirs.map((runDir) => ({ runDir, name: path.basename(runDir), state: 'completed' }));
  const events = (dir: string): RunEvent[] =>
    fs
      .readFileSync(path.join(dir, 'events.jsonl'), 'utf8')
      .split('\n')
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as RunEvent];
        } catch {
          return [];
        }
      });
  return { list: () => runs, events, refresh: async () => undefined };
}

interface Harness {
  controller: JudgeController;
  asked: { judge: RemoteJudge; id: string }[];
  providers: JudgeChoice[];
  errors: string[];
}

function harness(runDirs: string[], confirm?: (judge: RemoteJudge) => boolean, isKnownRun?: (dir: string) => boolean): Harness {
  const asked: Harness['asked'] = [];
  const providers: JudgeChoice[] = [];
  const errors: string[] = [];
  const actions: JudgeActions = {
    provider: async (choice) => {
      providers.push(choice);
      if (choice.kind === 'openai') return new OpenAiJudgeProvider({ baseURL: choice.baseURL, model: choice.model });
      return new ReferenceJudge('exact');
    },
    listModels: async () => [],
    setApiKey: async () => false,
    saveAs: async () => undefined,
    showError: (message) => void errors.push(message),
  };
  if (confirm) {
    actions.confirmEndpoint = async (judge, id) => {
      asked.push({ judge, id });
      return confirm(judge);
    };
  }
  return { controller: new JudgeController(registryOf(runDirs), actions, isKnownRun), asked, providers, errors };
}

const lastStep = (runDir: string) =>
  Math.max(
    ...fs
      .readFileSync(path.join(runDir, 'events.jsonl'), 'utf8')
      .split('\n')
      .flatMap((l) => {
        try {
          const e = JSON.parse(l);
          return e.type === 'generation' ? [e.step as number] : [];
        } catch {
          return [];
        }
      }),
  );

async function serve(t: T): Promise<FakeServer> {
  const server = await startFakeServer(preferGoodScript);
  t.after(() => server.close());
  return server;
}

/** A judgement folder as a stopped panel judgement leaves it, with `request` as its panel-request.json. */
function plantJudgement(root: string, id: string, request: unknown): string {
  const dir = path.join(root, 'judge', id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, REQUEST_FILE), JSON.stringify(request));
  return dir;
}

describe('resume trusts no stored request', () => {
  test('the endpoint is confirmed before anything is sent; declining sends nothing', async (t) => {
    const { root, runA, runB } = runsFolder(t);
    const server = await serve(t);
    const step = lastStep(runA);
    const params: StartParams = {
      a: { runDir: runA, step },
      b: { runDir: runB, step },
      judge: { kind: 'openai', baseURL: server.baseURL, model: 'judge-test' },
      prompts: 'all',
      concurrency: 2,
    };
    plantJudgement(root, 'stopped-1', { params });

    const declined = harness([runA, runB], () => false);
    await assert.rejects(async () => declined.controller.options().handlers.resume({ id: 'stopped-1' }), /cancelled: nothing was sent to judge-test at http:\/\/127\.0\.0\.1/);
    assert.deepEqual(declined.asked, [{ judge: params.judge, id: 'stopped-1' }]);
    assert.equal(declined.providers.length, 0, 'no provider was even created');
    assert.equal(server.calls.length, 0);

    const confirmed = harness([runA, runB], () => true);
    await confirmed.controller.options().handlers.resume({ id: 'stopped-1' });
    await confirmed.controller.finished;
    assert.equal(confirmed.asked.length, 1);
    assert.ok(server.calls.length > 0, 'the confirmed resume judged');
    assert.deepEqual(confirmed.errors, []);
  });

  test('a host that cannot ask refuses to resume a model judge', async (t) => {
    const { root, runA } = runsFolder(t);
    const server = await serve(t);
    plantJudgement(root, 'stopped-2', {
      params: { a: { runDir: runA, step: lastStep(runA) }, b: 'reference', judge: { kind: 'openai', baseURL: server.baseURL, model: 'm' }, prompts: 'all', concurrency: 1 },
    });
    await assert.rejects(async () => harness([runA]).controller.options().handlers.resume({ id: 'stopped-2' }), /cannot ask for confirmation/);
    assert.equal(server.calls.length, 0);
  });

  test('a stored request naming a folder outside the registry is refused before it is read', async (t) => {
    const { root, runA } = runsFolder(t);
    const elsewhere = tempDir(t);
    fs.copyFileSync(path.join(runA, 'events.jsonl'), path.join(elsewhere, 'events.jsonl'));
    plantJudgement(root, 'planted', {
      params: { a: { runDir: runA, step: 0 }, b: { runDir: elsewhere, step: 0 }, judge: { kind: 'reference', match: 'exact' }, prompts: 'all', concurrency: 1 },
    });
    const h = harness([runA], () => true);
    await assert.rejects(async () => h.controller.options().handlers.resume({ id: 'planted' }), new RegExp(`${elsewhere.replace(/[/\\]/g, '.')} is not a run of this workspace`));
    assert.equal(h.providers.length, 0);

    // The host may pass its own rule instead of the registry's list.
    const permissive = harness([runA], () => true, () => true);
    await permissive.controller.options().handlers.resume({ id: 'planted' });
    await permissive.controller.finished;
    assert.equal(permissive.providers.length, 1);
  });

  test('unknown or malformed fields are refused with the field named', (t) => {
    const { root, runA } = runsFolder(t);
    const good = { a: { runDir: runA, step: 0 }, b: 'reference', judge: { kind: 'reference', match: 'exact' }, prompts: 'all', concurrency: 1 };
    const cases: [unknown, RegExp][] = [
      [{ params: good, command: 'rm -rf' }, /unknown field "command"/],
      [{ params: { ...good, shell: true } }, /unknown field "shell"/],
      [{ params: { ...good, judge: { kind: 'openai', baseURL: 'file:///etc/passwd', model: 'm' } } }, /"judge" must be/],
      [{ params: { ...good, judge: { kind: 'openai', baseURL: 'https://x.example/v1', model: 'm', headers: {} } } }, /"judge" must be/],
      [{ params: { ...good, concurrency: 10_000 } }, /"concurrency" must be a whole number from 1 to 64/],
      [{ params: { ...good, a: { runDir: runA, step: -1 } } }, /"a" must be/],
      [{ params: { ...good, maxTokens: 'lots' } }, /"maxTokens" must be a positive number/],
      [[good], /not an object/],
      ['{"params":', /is not valid JSON/],
    ];
    cases.forEach(([request, message], i) => {
      const dir = path.join(root, 'judge', `bad-${i}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, REQUEST_FILE), typeof request === 'string' ? request : JSON.stringify(request));
      assert.throws(() => readRequest(dir), message, JSON.stringify(request));
      assert.throws(() => readRequest(dir), /panel-request\.json/, 'the message names the file');
    });
    writeRequest(path.join(root, 'judge', 'fine'), good as StartParams);
    assert.deepEqual(readRequest(path.join(root, 'judge', 'fine')), { params: good });
    assert.equal(readRequest(path.join(root, 'judge', 'none')), undefined);
  });
});

describe('start requests', () => {
  test('a base URL carrying a key is refused, so it is never stored', async (t) => {
    const { root, runA } = runsFolder(t);
    const h = harness([runA]);
    const params: StartParams = {
      a: { runDir: runA, step: lastStep(runA) },
      b: 'reference',
      judge: { kind: 'openai', baseURL: 'https://gateway.example/v1?api_key=SECRET123456', model: 'm' },
      prompts: 'all',
      concurrency: 1,
    };
    await assert.rejects(async () => h.controller.options().handlers.start(params), /carries a credential; remove it and use "Set API key…"/);
    assert.ok(!fs.existsSync(path.join(root, 'judge')), 'nothing was written');
  });

  test('a run folder the registry does not know is refused', async (t) => {
    const { runA, runB } = runsFolder(t);
    const h = harness([runA]);
    const params: StartParams = { a: { runDir: runB, step: 0 }, b: 'reference', judge: { kind: 'reference', match: 'exact' }, prompts: 'all', concurrency: 1 };
    await assert.rejects(async () => h.controller.options().handlers.start(params), /is not a run of this workspace/);
  });
});

describe('judgement history', () => {
  test('a schema-invalid or unreadable summary.json is one error entry; the others are listed as usual', async (t) => {
    const { root, runA } = runsFolder(t);
    const h = harness([runA]);
    const good = { a: { runDir: runA, step: lastStep(runA) }, b: 'reference', judge: { kind: 'reference', match: 'exact' }, prompts: 'all', concurrency: 1 } as StartParams;
    const { id } = await h.controller.options().handlers.start(good);
    await h.controller.finished;
    const judgeRoot = path.join(root, 'judge');
    const broken = (name: string, text: string) => {
      fs.mkdirSync(path.join(judgeRoot, name));
      fs.writeFileSync(path.join(judgeRoot, name, 'summary.json'), text);
    };
    broken('wrong-shape', JSON.stringify({ wins: 'many', judge: 1 }));
    broken('not-json', '{"wins": 3,');
    broken('rate-out-of-range', JSON.stringify({ wins: 1, ties: 0, losses: 0, inconsistent: 0, prompts: 1, calls: 2, errors: 0, win_rate: 7, ci_low: 0, ci_high: 1, consistency: 1, position_bias: 0.5, judge: 'j', a: 'a', b: 'b' }));

    const history = listJudgements([judgeRoot]);
    const byId = new Map(history.map((l) => [l.id, l]));
    assert.equal(history.length, 4);
    assert.ok(byId.get(id)!.summary, 'the good judgement keeps its summary');
    assert.equal(byId.get(id)!.error, undefined);
    assert.match(byId.get('wrong-shape')!.error!, /summary\.json is not a judge summary/);
    assert.match(byId.get('not-json')!.error!, /summary\.json is not valid JSON/);
    assert.match(byId.get('rate-out-of-range')!.error!, /not a judge summary/);
    for (const name of ['wrong-shape', 'not-json', 'rate-out-of-range']) assert.equal(byId.get(name)!.summary, undefined);

    // What the panel receives is still a valid state message: the webview drops invalid ones whole.
    const state = await h.controller.options().fullState();
    assert.ok(isJudgeHostMessage(state), 'the state message passes the webview check');
    assert.equal((state as { history: unknown[] }).history.length, 4);
    await assert.rejects(async () => h.controller.options().handlers.open({ id: 'wrong-shape' }), /not a judge summary/);
  });

  test('a results line of the wrong shape is skipped, so the live view still passes the webview check', (t) => {
    const dir = tempDir(t);
    const good = { v: 1, prompt_id: 'p1', order: 'ab', key: 'k', time: 1, choice: 1, winner: 'a', argument: 'fine', usage: { input_tokens: 1, output_tokens: 1 }, attempts: 1 };
    const bad = { ...good, order: 'ba', argument: { html: '<b>' }, winner: 'nobody' };
    fs.writeFileSync(path.join(dir, 'results.jsonl'), `${JSON.stringify(good)}\n${JSON.stringify(bad)}\n`);
    const live = new LiveJudgement('j', dir, { pairs: [{ id: 'p1', prompt: 'q', a: 'x', b: 'y' }], labels: { a: 'A', b: 'B' } }, 'judge');
    const view = live.view();
    assert.deepEqual(view.records[0].ab, { choice: 1, winner: 'a', argument: 'fine' });
    assert.equal(view.records[0].ba, null);
    assert.ok(isJudgeHostMessage({ type: 'progress', view }));
  });
});
