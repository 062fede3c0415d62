// The judge panel's work that needs no vscode: which runs can be judged, the pairs a start request
// names, the live view of a running judgement, and the judgements already on disk. The engine
// itself (src/judge) is used through its public API only.
import * as path from 'node:path';
import {
  listJudgements,
  loadRunGenerations,
  newJudgeId,
  runJudge,
  pairSides,
  readRequest,
  readResults,
  redactText,
  redactUrl,
  referenceSide,
  storedView,
  summarize,
  promptRecord,
  urlHasCredentials,
  writeRequest,
  type CallResult,
  type JudgePair,
  type JudgeProgress,
  type JudgeProvider,
  type JudgeSummary,
} from '../judge';
import { generationsOf } from '../shared/generationTable';
import { csvField } from './generationsExport';
import type { RunEvent } from '../protocol/events';
import {
  judgeGuards,
  type JudgeableRun,
  type JudgeChoice,
  type JudgeHostMessage,
  type JudgeRequests,
  type JudgeView,
  type StartParams,
} from '../protocol/judge';
import type { RunSummary } from '../protocol/runSummary';
import type { RegistryView } from './dashboardSession';
import type { BridgeOptions, PanelBridge } from './panelBridge';

export function judgeableRuns(runs: readonly RunSummary[], eventsOf: (runDir: string) => readonly RunEvent[]): JudgeableRun[] {
  return runs.flatMap((run) => {
    const generations = generationsOf(eventsOf(run.runDir));
    if (generations.length === 0) return [];
    const steps = [...new Set(generations.map((g) => g.step))].sort((a, b) => a - b);
    return [{ runDir: run.runDir, name: run.name, steps, hasReferences: generations.some((g) => g.reference !== undefined) }];
  });
}

/** `<runs directory>/judge`: the folder holding the run's folder, where its siblings live. */
export function judgeRoot(runDir: string): string {
  return path.join(path.dirname(path.resolve(runDir)), 'judge');
}

export interface JudgeInputs {
  pairs: JudgePair[];
  labels: { a: string; b: string };
}

/** The pairs a start request names; throws the engine's JudgeInputError with what to change. */
export function judgeInputs(params: StartParams): JudgeInputs {
  const a = loadRunGenerations(params.a.runDir, params.a.step);
  const b = params.b === 'reference' ? referenceSide(a) : loadRunGenerations(params.b.runDir, params.b.step);
  let { pairs } = pairSides(a, b);
  if (params.prompts === 'with-reference') pairs = pairs.filter((p) => p.reference !== undefined);
  if (pairs.length === 0) {
    throw new Error(`${a.label} and ${b.label} share no prompt${params.prompts === 'with-reference' ? ' with a reference' : ''}; pick sides sampled on the same prompt set`);
  }
  return { pairs, labels: { a: a.label, b: b.label } };
}

/** Follows a judgement through the engine's progress reports: the per-prompt table and the tally so far. */
export class LiveJudgement {
  private readonly results = new Map<string, { ab?: CallResult; ba?: CallResult }>();
  private progress: JudgeProgress | undefined;
  running = true;
  final: JudgeSummary | undefined;

  constructor(
    readonly id: string,
    readonly dir: string,
    private readonly inputs: JudgeInputs,
    private readonly judgeId: string,
  ) {
    // Calls a resumed judgement already has count from the start.
    for (const result of readResults(dir)) this.record(result);
  }

  onProgress(progress: JudgeProgress): void {
    this.progress = progress;
    if (progress.last) this.record(progress.last);
  }

  view(): JudgeView {
    const judgements = this.inputs.pairs.map((pair) => ({ pair, ...this.results.get(pair.id) }));
    const usage = this.progress?.usage ?? { input_tokens: 0, output_tokens: 0 };
    const summary: JudgeSummary = this.final ?? {
      ...summarize(judgements),
      resumed: this.progress?.resumed ?? 0,
      pairs: this.inputs.pairs.length,
      input_tokens: usage.input_tokens,
      output_tokens: usage.output_tokens,
      judge: this.judgeId,
      a: this.inputs.labels.a,
      b: this.inputs.labels.b,
    };
    return {
      id: this.id,
      dir: this.dir,
      running: this.running,
      done: this.progress?.done ?? judgements.reduce((n, j) => n + (j.ab && !j.ab.error ? 1 : 0) + (j.ba && !j.ba.error ? 1 : 0), 0),
      total: this.inputs.pairs.length * 2,
      summary,
      records: judgements.map(promptRecord),
    };
  }

  private record(result: CallResult): void {
    const entry = this.results.get(result.prompt_id) ?? {};
    // An error never replaces a verdict of the same order (a resumed run only re-asks errors).
    const previous = entry[result.order];
    if (!previous || previous.error !== undefined || result.error === undefined) entry[result.order] = result;
    this.results.set(result.prompt_id, entry);
  }
}

const RECORD_COLUMNS = ['prompt_id', 'prompt', 'reference', 'answer_a', 'answer_b', 'outcome', 'consistent', 'ab_winner', 'ab_argument', 'ba_winner', 'ba_argument'] as const;

export function recordsCsv(view: JudgeView): string {
  const lines = [RECORD_COLUMNS.join(',')];
  for (const r of view.records) {
    const row: Record<(typeof RECORD_COLUMNS)[number], string | boolean | null> = {
      prompt_id: r.prompt_id,
      prompt: r.prompt,
      reference: r.reference ?? null,
      answer_a: r.answer_a,
      answer_b: r.answer_b,
      outcome: r.outcome,
      consistent: r.consistent,
      ab_winner: r.ab?.winner ?? r.ab?.error ?? null,
      ab_argument: r.ab?.argument ?? null,
      ba_winner: r.ba?.winner ?? r.ba?.error ?? null,
      ba_argument: r.ba?.argument ?? null,
    };
    lines.push(RECORD_COLUMNS.map((k) => csvField(row[k])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** A judge that sends the prompts and answers somewhere: what a resume asks the user to confirm. */
export type RemoteJudge = Exclude<JudgeChoice, { kind: 'reference' }>;

/** Where a remote judge sends the prompts, as the user should read it (credentials in the URL redacted). */
export function endpointLabel(judge: RemoteJudge): string {
  return judge.kind === 'openai' ? `${judge.model} at ${redactUrl(judge.baseURL)}` : `the VS Code chat model ${judge.modelId}`;
}

export interface JudgeActions {
  provider(choice: JudgeChoice): Promise<JudgeProvider>;
  /**
   * Asks the user whether a resumed judgement may send its prompts and answers to the endpoint
   * its stored request names (base URL and model). Absent: such resumes are refused.
   */
  confirmEndpoint?(judge: RemoteJudge, id: string): Promise<boolean>;
  listModels(): Promise<{ id: string; label: string }[]>;
  /** Asks for the endpoint's key and stores it; resolves to whether one was stored. */
  setApiKey(baseURL: string): Promise<boolean>;
  saveAs(defaultPath: string, text: string): Promise<string | undefined>;
  showError(message: string): void;
}

const PROGRESS_INTERVAL_MS = 100;

/** The judge panel's host logic: one judgement at a time, progress posted at most every 100 ms. */
export class JudgeController {
  private live: LiveJudgement | undefined;
  private abort: AbortController | undefined;
  private lastPost = 0;
  private postTimer: ReturnType<typeof setTimeout> | undefined;
  private bridge: Pick<PanelBridge<JudgeRequests, JudgeHostMessage>, 'post'> | undefined;

  /**
   * `isKnownRun`: which run folders a judgement may read (start and resume alike); by default the
   * registry's runs, so a path from the webview or a stored request cannot point anywhere else.
   */
  constructor(
    private readonly registry: Pick<RegistryView, 'list' | 'events' | 'refresh'>,
    private readonly actions: JudgeActions,
    private readonly isKnownRun: (runDir: string) => boolean = (runDir) =>
      registry.list().some((run) => path.resolve(run.runDir) === path.resolve(runDir)),
  ) {}

  /** Where progress goes; the panel's current bridge (a reloaded page gets a new one). */
  connect(bridge: Pick<PanelBridge<JudgeRequests, JudgeHostMessage>, 'post'> | undefined): void {
    this.bridge = bridge;
  }

  /** Stops a running judgement; what it recorded stays and can be resumed. */
  cancel(): void {
    this.abort?.abort();
  }

  /** Resolves when the running judgement (if any) has written its outputs. */
  finished: Promise<void> = Promise.resolve();

  options(): BridgeOptions<JudgeRequests, JudgeHostMessage> {
    return {
      guards: judgeGuards,
      handlers: {
        start: (params) => {
          this.checkParams(params);
          const inputs = judgeInputs(params);
          return this.run(path.join(judgeRoot(params.a.runDir), newJudgeId(inputs.labels.a, inputs.labels.b)), params, inputs);
        },
        cancel: () => {
          this.cancel();
          return null;
        },
        resume: async ({ id }) => {
          const dir = this.findDir(id);
          const stored = readRequest(dir);
          if (!stored) throw new Error(`${id} was not started from this panel; resume it with the CLI's --out ${dir}`);
          this.checkParams(stored.params);
          await this.confirmEndpoint(stored.params.judge, id);
          return this.run(dir, stored.params, judgeInputs(stored.params));
        },
        open: ({ id }) => this.view(id),
        listModels: async () => ({ models: await this.actions.listModels() }),
        setApiKey: async ({ baseURL }) => ({ stored: await this.actions.setApiKey(baseURL) }),
        export: async ({ id }) => {
          const view = this.view(id);
          const saved = await this.actions.saveAs(path.join(view.dir, 'records.csv'), recordsCsv(view));
          return saved ? { path: saved } : {};
        },
      },
      fullState: async () => {
        await this.registry.refresh();
        const runs = judgeableRuns(this.registry.list(), (dir) => this.registry.events(dir));
        return { type: 'state', runs, history: listJudgements(this.roots()), ...(this.live ? { current: this.live.view() } : {}) };
      },
    };
  }

  /** Rules a start request from the panel and a stored request for a resume both follow. */
  private checkParams(params: StartParams): void {
    for (const side of [params.a, params.b]) {
      if (side !== 'reference' && !this.isKnownRun(side.runDir)) {
        throw new Error(`${side.runDir} is not a run of this workspace; judge runs listed in the Runs view`);
      }
    }
    const judge = params.judge;
    if (judge.kind === 'openai' && urlHasCredentials(judge.baseURL)) {
      // The base URL is stored in panel-request.json and shown in summaries; a key belongs in secret storage.
      throw new Error(`the base URL ${redactUrl(judge.baseURL)} carries a credential; remove it and use "Set API key…"`);
    }
  }

  /** Nothing leaves the machine on a resume until the user has seen where it goes. */
  private async confirmEndpoint(judge: JudgeChoice, id: string): Promise<void> {
    if (judge.kind === 'reference') return;
    const where = endpointLabel(judge);
    if (!this.actions.confirmEndpoint) throw new Error(`resuming ${id} would send prompts to ${where}, and this host cannot ask for confirmation`);
    if (!(await this.actions.confirmEndpoint(judge, id))) throw new Error(`resume of ${id} cancelled: nothing was sent to ${where}`);
  }

  private roots(): string[] {
    return this.registry.list().map((r) => judgeRoot(r.runDir));
  }

  private findDir(id: string): string {
    const listing = listJudgements(this.roots()).find((l) => l.id === id);
    if (!listing) throw new Error(`no judgement named ${id} under the runs directories`);
    return listing.dir;
  }

  private view(id: string): JudgeView {
    if (this.live?.id === id) return this.live.view();
    const view = storedView(this.findDir(id));
    if (!view) throw new Error(`${id} has no summary yet; resume it to finish`);
    return view;
  }

  private async run(dir: string, params: StartParams, inputs: JudgeInputs): Promise<{ id: string }> {
    if (this.live?.running) throw new Error('a judgement is already running; cancel it or wait for it to finish');
    const provider = await this.actions.provider(params.judge);
    const id = path.basename(dir);
    writeRequest(dir, params);
    const live = new LiveJudgement(id, dir, inputs, provider.id);
    this.live = live;
    this.abort = new AbortController();
    this.finished = runJudge({
      pairs: inputs.pairs,
      provider,
      outDir: dir,
      concurrency: params.concurrency,
      budget: params.maxTokens ? { maxTokens: params.maxTokens } : undefined,
      signal: this.abort.signal,
      labels: inputs.labels,
      onProgress: (progress) => {
        live.onProgress(progress);
        this.postProgress();
      },
    })
      .then((result) => {
        live.final = result.summary;
      })
      .catch((error: Error) => this.actions.showError(`Judgement ${id} failed: ${redactText(error.message)}`))
      .finally(() => {
        live.running = false;
        this.postProgress(true);
        this.bridge?.post({ type: 'history', history: listJudgements(this.roots()) });
      });
    return { id };
  }

  /** At most one progress message per interval; the final one always goes out at once. */
  private postProgress(now = false): void {
    const send = () => {
      this.postTimer = undefined;
      this.lastPost = Date.now();
      if (this.live) this.bridge?.post({ type: 'progress', view: this.live.view() });
    };
    if (now) {
      clearTimeout(this.postTimer);
      send();
    } else if (!this.postTimer) {
      this.postTimer = setTimeout(send, Math.max(0, this.lastPost + PROGRESS_INTERVAL_MS - Date.now()));
    }
  }
}
