// Judge app: choose two sides and a judge, start, and watch the tally and the per-prompt verdicts
// fill in. Answers and the judge's arguments are untrusted text: textContent only.
import type { OrderRecord, PromptRecord } from '../../src/protocol/judgeRecords';
import {
  isJudgeHostMessage,
  type JudgeableRun,
  type JudgeChoice,
  type JudgeHostMessage,
  type JudgeListing,
  type JudgeRequests,
  type JudgeView,
  type JudgeWebviewState,
  type PromptSet,
  type SideChoice,
} from '../../src/protocol/judge';
import { connect } from '../bridge';
import { button, dropdown, labelled, textField } from '../ui/controls';
import { el, setText } from '../ui/dom';
import './judge.css';

const bridge = connect<JudgeRequests, JudgeHostMessage, JudgeWebviewState>(isJudgeHostMessage, receive);
let runs: JudgeableRun[] = [];
let shown: JudgeView | undefined;

const status = el('div', { id: 'judge-status', className: 'muted', attributes: { role: 'status', 'aria-live': 'polite' } });
const report = (text: string) => setText(status, text);
const attempt = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await work();
  } catch (error) {
    report((error as Error).message);
    return undefined;
  }
};

// Sides -------------------------------------------------------------------------------------------
function sidePicker(name: 'a' | 'b') {
  const run = dropdown<string>([], { id: `side-${name}-run`, label: `Side ${name.toUpperCase()} run` });
  const step = dropdown<string>([], { id: `side-${name}-step`, label: `Side ${name.toUpperCase()} step` });
  const fillSteps = () => {
    const found = runs.find((r) => r.runDir === run.value);
    // Newest step first: the tuned model is the usual side A.
    step.setChoices((found?.steps ?? []).slice().reverse().map((s) => ({ value: String(s), label: s === 0 ? 'step 0 (base)' : `step ${s}` })));
  };
  run.onChange(fillSteps);
  return {
    run,
    step,
    fill(preferIndex: number) {
      run.setChoices(runs.map((r) => ({ value: r.runDir, label: r.name })));
      if (!runs.some((r) => r.runDir === run.value) && runs.length > 0) run.value = runs[Math.min(preferIndex, runs.length - 1)].runDir;
      fillSteps();
    },
    value(): SideChoice | undefined {
      return run.value && step.value !== '' ? { runDir: run.value, step: Number(step.value) } : undefined;
    },
  };
}
const sideA = sidePicker('a');
const sideB = sidePicker('b');
const bKind = dropdown(
  [
    { value: 'run', label: 'another run or checkpoint' },
    { value: 'reference', label: 'the reference answers' },
  ] as const,
  { id: 'side-b-kind', label: 'Compare A with' },
);
bKind.onChange(() => updateVisibility());

// Judge -------------------------------------------------------------------------------------------
const judgeKind = dropdown(
  [
    { value: 'reference', label: 'Reference match (no model)' },
    { value: 'openai', label: 'OpenAI-compatible endpoint' },
    { value: 'vscode-lm', label: 'VS Code language model' },
  ] as const,
  { id: 'judge-kind', label: 'Judge' },
);
const match = dropdown(
  [
    { value: 'normalized', label: 'normalised text' },
    { value: 'exact', label: 'exact text' },
  ] as const,
  { id: 'judge-match', label: 'Reference match' },
);
const baseURL = textField({ id: 'judge-base-url', label: 'Base URL', placeholder: 'https://api.openai.com/v1', type: 'url' });
const model = textField({ id: 'judge-model', label: 'Model', placeholder: 'gpt-4o-mini' });
const apiKey = button('Set API key…', {
  id: 'judge-api-key',
  secondary: true,
  title: 'Stored in VS Code secret storage, never in settings',
  onClick: () =>
    void attempt(async () => {
      const { stored } = await bridge.request('setApiKey', { baseURL: baseURL.value.trim() });
      report(stored ? `API key stored for ${baseURL.value.trim()}` : 'API key unchanged');
    }),
});
const lmModel = dropdown<string>([], { id: 'judge-lm-model', label: 'Chat model' });
const lmRefresh = button('Find models', {
  id: 'judge-lm-refresh',
  secondary: true,
  onClick: () =>
    void attempt(async () => {
      const { models } = await bridge.request('listModels', {});
      lmModel.setChoices(models.map((m) => ({ value: m.id, label: m.label })));
      report(models.length ? `${models.length} chat models` : 'No chat model is available: install and sign in to a provider');
    }),
});
judgeKind.onChange(() => updateVisibility());
const prompts = dropdown(
  [
    { value: 'all', label: 'every shared prompt' },
    { value: 'with-reference', label: 'prompts with a reference' },
  ] as const,
  { id: 'judge-prompts', label: 'Prompt set' },
);
const concurrency = textField({ id: 'judge-concurrency', label: 'Concurrency', value: '4', type: 'number' });
const maxTokens = textField({ id: 'judge-max-tokens', label: 'Token cap (empty = none)', type: 'number' });

const start = button('Judge', { id: 'judge-start', title: 'Judge every prompt in both orders', onClick: () => void startJudging() });
const cancel = button('Cancel', { id: 'judge-cancel', secondary: true, onClick: () => void attempt(() => bridge.request('cancel', {})) });

const openaiFields = el('div', { className: 'row' }, [labelled('Base URL', baseURL.element), labelled('Model', model.element), apiKey]);
const lmFields = el('div', { className: 'row' }, [labelled('Chat model', lmModel.element), lmRefresh]);
const matchField = labelled('Match', match.element);
const bRunFields = el('div', { className: 'row' }, [labelled('Run', sideB.run.element), labelled('Step', sideB.step.element)]);

function updateVisibility(): void {
  bRunFields.hidden = bKind.value === 'reference';
  openaiFields.hidden = judgeKind.value !== 'openai';
  lmFields.hidden = judgeKind.value !== 'vscode-lm';
  matchField.hidden = judgeKind.value !== 'reference';
}

function judgeChoice(): JudgeChoice {
  if (judgeKind.value === 'openai') return { kind: 'openai', baseURL: baseURL.value.trim(), model: model.value.trim() };
  if (judgeKind.value === 'vscode-lm') return { kind: 'vscode-lm', modelId: lmModel.value };
  return { kind: 'reference', match: match.value };
}

async function startJudging(): Promise<void> {
  const a = sideA.value();
  const b = bKind.value === 'reference' ? 'reference' : sideB.value();
  if (!a || !b) return report('Choose a run and a step for each side.');
  const n = Number(concurrency.value);
  if (!Number.isInteger(n) || n < 1 || n > 64) return report('Concurrency must be a whole number from 1 to 64.');
  const cap = maxTokens.value.trim() === '' ? undefined : Number(maxTokens.value);
  if (cap !== undefined && !(cap > 0)) return report('The token cap must be a positive number, or empty for none.');
  const started = await attempt(() =>
    bridge.request('start', { a, b, judge: judgeChoice(), prompts: prompts.value as PromptSet, concurrency: n, ...(cap ? { maxTokens: cap } : {}) }),
  );
  if (started) {
    bridge.setState({ id: started.id });
    report(`Judging ${started.id}`);
  }
}

// Results -----------------------------------------------------------------------------------------
const title = el('h2', { id: 'judge-title', text: 'No judgement yet' });
const progressBar = el('div', { id: 'judge-progress', className: 'progress', attributes: { role: 'progressbar', 'aria-label': 'Calls judged', 'aria-valuemin': '0' } }, [
  el('div', { className: 'progress-fill' }),
]);
const progressText = el('span', { id: 'judge-progress-text', className: 'muted' });
const segment = (outcome: string) => el('div', { className: `segment ${outcome}`, attributes: { 'data-outcome': outcome } });
const tally = { win: segment('win'), tie: segment('tie'), loss: segment('loss') };
const tallyBar = el('div', { id: 'judge-tally', className: 'tally', attributes: { role: 'img', 'aria-label': 'Wins, ties and losses of A' } }, Object.values(tally));
const tallyLegend = el('div', { id: 'judge-tally-legend', className: 'stats' });
const stats = el('dl', { id: 'judge-stats', className: 'judge-stats' });
const recordsTable = el('table', { id: 'judge-records', className: 'records', attributes: { 'aria-label': 'Verdicts per prompt' } });
const exportButton = button('Export CSV', {
  id: 'judge-export',
  secondary: true,
  onClick: () =>
    void attempt(async () => {
      if (!shown) return;
      const { path } = await bridge.request('export', { id: shown.id });
      report(path ? `Exported to ${path}` : 'Export cancelled');
    }),
});
const historyList = el('ul', { id: 'judge-history', className: 'history', attributes: { 'aria-label': 'Earlier judgements' } });

document.getElementById('app')?.append(
  el('header', {}, [el('div', { className: 'title-row' }, [el('h1', { text: 'Judge' }), status])]),
  el('section', { className: 'setup', attributes: { 'aria-label': 'What to judge' } }, [
    el('div', { className: 'row' }, [el('strong', { text: 'A' }), labelled('Run', sideA.run.element), labelled('Step', sideA.step.element)]),
    el('div', { className: 'row' }, [el('strong', { text: 'B' }), labelled('Compare with', bKind.element), bRunFields]),
    el('div', { className: 'row' }, [labelled('Judge', judgeKind.element), matchField, openaiFields, lmFields]),
    el('div', { className: 'row' }, [labelled('Prompts', prompts.element), labelled('Concurrency', concurrency.element), labelled('Token cap', maxTokens.element), start, cancel]),
  ]),
  el('section', { className: 'results' }, [
    el('div', { className: 'title-row' }, [title, exportButton]),
    el('div', { className: 'row' }, [progressBar, progressText]),
    tallyBar,
    tallyLegend,
    stats,
    recordsTable,
  ]),
  el('section', {}, [el('h2', { text: 'Earlier judgements' }), historyList]),
);
updateVisibility();

function receive(message: JudgeHostMessage): void {
  if (message.type === 'state') {
    runs = message.runs;
    sideA.fill(0);
    sideB.fill(runs.length > 1 ? 1 : 0);
    renderHistory(message.history);
    const wanted = bridge.getState().id;
    if (message.current) renderView(message.current);
    else if (wanted && message.history.some((h) => h.id === wanted && h.summary)) void attempt(async () => renderView(await bridge.request('open', { id: wanted })));
    if (runs.length === 0) report('No run has generations yet: judge after a run has evaluated.');
  } else if (message.type === 'progress') {
    renderView(message.view);
  } else {
    renderHistory(message.history);
  }
}

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);

function renderView(view: JudgeView): void {
  shown = view;
  bridge.setState({ id: view.id });
  const s = view.summary;
  setText(title, `${s.a} vs ${s.b}`);
  title.title = view.dir;
  start.disabled = view.running;
  cancel.hidden = !view.running;
  const fraction = view.total > 0 ? view.done / view.total : 0;
  (progressBar.firstElementChild as HTMLElement).style.width = `${fraction * 100}%`;
  progressBar.setAttribute('aria-valuemax', String(view.total));
  progressBar.setAttribute('aria-valuenow', String(view.done));
  setText(progressText, `${view.done} / ${view.total} calls${view.running ? ' · judging…' : ''}${s.stopped ? ` · stopped: ${s.stopped}${s.message ? ` (${s.message})` : ''}` : ''}`);
  const n = s.wins + s.ties + s.losses;
  for (const [key, count] of [['win', s.wins], ['tie', s.ties], ['loss', s.losses]] as const) {
    tally[key].style.flexGrow = String(count);
    tally[key].dataset.count = String(count);
  }
  tallyBar.setAttribute('aria-label', `A wins ${s.wins}, ties ${s.ties}, loses ${s.losses} of ${n} prompts`);
  tallyLegend.replaceChildren(
    el('span', { className: 'legend win', text: `A wins ${s.wins}` }),
    el('span', { className: 'legend tie', text: `ties ${s.ties}` }),
    el('span', { className: 'legend loss', text: `B wins ${s.losses}` }),
  );
  const facts: [string, string][] = [
    ['win rate of A', `${pct(s.win_rate)}  (95% CI ${pct(s.ci_low)} – ${pct(s.ci_high)})`],
    ['consistency', `${pct(s.consistency)}  (${s.inconsistent} prompts disagree between orders)`],
    ['position bias', `${pct(s.position_bias)} of decisive verdicts picked the answer shown first`],
    ['prompts judged', `${s.prompts} of ${s.pairs ?? view.records.length}`],
    ['errors', String(s.errors)],
    ['tokens', `${s.input_tokens ?? 0} in · ${s.output_tokens ?? 0} out`],
    ['judge', s.judge],
  ];
  stats.replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v, attributes: { 'data-fact': k } })]));
  renderRecords(view.records, s.a, s.b);
}

const verdictText = (order: OrderRecord | null, a: string, b: string) => {
  if (!order) return 'pending';
  if (order.error !== undefined) return `error: ${order.error}`;
  return order.winner === 'a' ? `${a} better` : order.winner === 'b' ? `${b} better` : 'tie';
};

function renderRecords(records: PromptRecord[], a: string, b: string): void {
  const head = el('tr', {}, ['Prompt', `A: ${a}`, `B: ${b}`, 'Outcome for A', 'A shown first', 'B shown first'].map((h) => el('th', { text: h, attributes: { scope: 'col' } })));
  const rows = records.map((r) =>
    el('tr', { attributes: { 'data-prompt-id': r.prompt_id, 'data-outcome': r.outcome ?? 'pending' } }, [
      el('th', { attributes: { scope: 'row' } }, [
        el('div', { className: 'text', text: r.prompt }),
        ...(r.reference !== undefined ? [el('div', { className: 'meta muted', text: `reference: ${r.reference}` })] : []),
      ]),
      el('td', { className: 'answer' }, [el('div', { className: 'text', text: r.answer_a })]),
      el('td', { className: 'answer' }, [el('div', { className: 'text', text: r.answer_b })]),
      el('td', { className: `outcome ${r.outcome ?? 'pending'}`, text: `${r.outcome ?? 'pending'}${r.consistent === false ? ' (orders disagree)' : ''}` }),
      ...[r.ab, r.ba].map((order) =>
        el('td', { className: 'verdict' }, [
          el('div', { className: 'choice', text: verdictText(order, 'A', 'B') }),
          el('div', { className: 'argument muted', text: order?.argument ?? '' }),
        ]),
      ),
    ]),
  );
  recordsTable.replaceChildren(el('thead', {}, [head]), el('tbody', {}, rows));
}

function renderHistory(history: JudgeListing[]): void {
  historyList.replaceChildren(
    ...history.map((h, i) =>
      el('li', {}, [
        el('span', { className: 'history-name', text: h.id, title: h.dir }),
        h.error !== undefined
          ? el('span', { className: 'history-error', text: h.error, attributes: { role: 'note' } })
          : el('span', { className: 'muted', text: h.summary ? `win rate ${pct(h.summary.win_rate)} · ${h.summary.prompts} prompts` : 'unfinished' }),
        ...(h.summary ? [button('Open', { id: `history-open-${i}`, secondary: true, onClick: () => void attempt(async () => renderView(await bridge.request('open', { id: h.id }))) })] : []),
        ...(h.resumable ? [button('Resume', { id: `history-resume-${i}`, secondary: true, onClick: () => void attempt(() => bridge.request('resume', { id: h.id })) })] : []),
      ]),
    ),
  );
  if (history.length === 0) historyList.append(el('li', { className: 'muted', text: 'None yet.' }));
}
