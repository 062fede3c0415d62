// Generations app: prompts down, evaluation steps across (step 0, the base model, first). Every
// completion is model output, so it only ever reaches the page as textContent.
import { GenerationTable, isExactMatch, samplingText, type TableRow } from '../../src/shared/generationTable';
import {
  isGenerationsHostMessage,
  ROW_FILTERS,
  type CellRef,
  type ExportFormat,
  type GenerationsHostMessage,
  type GenerationsRequests,
  type GenerationsWebviewState,
  type RowFilter,
  type TableFilter,
} from '../../src/protocol/generations';
import type { RunSummary } from '../../src/protocol/runSummary';
import { connect } from '../bridge';
import { button, dropdown, textField } from '../ui/controls';
import { el, setText } from '../ui/dom';
import './generations.css';

const MIN_COLUMN_PX = 260;
const FILTER_LABELS: Record<RowFilter, string> = {
  all: 'All prompts',
  'with-reference': 'With a reference',
  mismatch: 'Latest step misses the reference',
  changed: 'Changed since the first step',
};

const bridge = connect<GenerationsRequests, GenerationsHostMessage, GenerationsWebviewState>(isGenerationsHostMessage, receive);
let table = new GenerationTable();
let run: RunSummary | undefined;
let filter: TableFilter = bridge.getState().filter ?? { query: '', only: 'all' };
/** The last visible step's index; undefined follows the newest step as it arrives. */
let windowEnd: number | undefined;
let selected: CellRef | undefined;
let focused: CellRef | undefined;

const title = el('h1', { id: 'run-name', text: 'Loading generations…' });
const state = el('span', { id: 'run-state', className: 'badge' });
const counts = el('span', { id: 'table-counts', className: 'muted' });
const status = el('span', { id: 'status', className: 'muted', attributes: { role: 'status', 'aria-live': 'polite' } });
const search = textField({ id: 'search', label: 'Search prompts, references and completions', placeholder: 'Search…', value: filter.query });
const only = dropdown(
  ROW_FILTERS.map((f) => ({ value: f, label: FILTER_LABELS[f] })),
  { id: 'row-filter', label: 'Which prompts to show', value: filter.only },
);
const exportAs = (format: ExportFormat) => async () => {
  try {
    const { path, rows } = await bridge.request('export', { format, filter });
    setText(status, path ? `Exported ${rows} rows to ${path}` : 'Export cancelled');
  } catch (error) {
    setText(status, (error as Error).message);
  }
};
const slider = el('input', { id: 'step-slider', attributes: { type: 'range', min: '0', step: '1', 'aria-label': 'Last step shown' } });
const sliderLabel = el('span', { id: 'step-slider-label', className: 'muted' });
const sliderBox = el('label', { className: 'step-slider' }, [el('span', { text: 'Steps' }), slider, sliderLabel]);
const hint = el('p', { className: 'muted hint', text: 'Select a cell, then another, to compare the two completions in a diff editor.' });
const grid = el('table', { id: 'generations', className: 'grid', attributes: { role: 'grid', 'aria-label': 'Completions by prompt and evaluation step' } });
const empty = el('p', { id: 'generations-empty', className: 'muted', text: 'No generations yet: they appear after the first evaluation.' });

search.onChange((query) => setFilter({ ...filter, query }));
only.onChange((value) => setFilter({ ...filter, only: value }));
slider.addEventListener('input', () => {
  const end = Number(slider.value);
  windowEnd = end >= table.steps.length - 1 ? undefined : end;
  render();
});
new ResizeObserver(() => schedule()).observe(document.body);

document.getElementById('app')?.append(
  el('header', {}, [el('div', { className: 'title-row' }, [title, state, counts]), el('div', { className: 'muted' }, [status])]),
  el('div', { className: 'toolbar' }, [
    search.element,
    only.element,
    sliderBox,
    el('span', { className: 'spacer' }),
    button('Export CSV', { id: 'export-csv', secondary: true, title: 'Save the rows shown as CSV', onClick: exportAs('csv') }),
    button('Export JSONL', { id: 'export-jsonl', secondary: true, title: 'Save the rows shown as JSON Lines', onClick: exportAs('jsonl') }),
  ]),
  hint,
  empty,
  el('div', { className: 'grid-scroll' }, [grid]),
);

function setFilter(next: TableFilter): void {
  filter = next;
  bridge.setState({ filter });
  schedule();
}

function receive(message: GenerationsHostMessage): void {
  if (message.type === 'state') {
    bridge.setState({ runDir: message.run.runDir });
    table = new GenerationTable();
  }
  run = message.run;
  table.add(message.generations);
  schedule();
}

let pending = false;
function schedule(): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    render();
  });
}

/** Step 0 stays pinned; the rest is a window of as many steps as fit, ending at the slider. */
function visibleSteps(): number[] {
  const steps = table.steps;
  const fit = Math.max(2, Math.floor((document.body.clientWidth - 360) / MIN_COLUMN_PX));
  const fitsAll = steps.length <= fit;
  sliderBox.hidden = fitsAll;
  if (fitsAll) return [...steps];
  slider.max = String(steps.length - 1);
  const end = Math.min(windowEnd ?? steps.length - 1, steps.length - 1);
  slider.value = String(end);
  const start = Math.max(1, end - (fit - 2));
  const shown = [steps[0], ...steps.slice(start, end + 1)];
  setText(sliderLabel, `step ${steps[start]}–${steps[end]} of ${steps[steps.length - 1]}`);
  return shown;
}

function render(): void {
  if (run) {
    setText(title, `Generations · ${run.name}`);
    setText(state, run.state);
    state.dataset.state = run.state;
  }
  const steps = visibleSteps();
  const rows = table.filtered(filter);
  const withReference = table.rows.some((r) => r.reference !== undefined);
  setText(counts, `${rows.length} of ${table.rows.length} prompts · ${table.steps.length} steps`);
  empty.hidden = table.rows.length > 0;
  grid.hidden = table.rows.length === 0;

  const head = el('tr', {}, [
    el('th', { text: 'Prompt', attributes: { scope: 'col' } }),
    ...(withReference ? [el('th', { text: 'Reference', attributes: { scope: 'col' } })] : []),
    ...steps.map((s) => el('th', { text: s === 0 ? 'step 0 (base)' : `step ${s}`, attributes: { scope: 'col', 'data-step': String(s) } })),
  ]);
  const body = rows.map((row) => renderRow(row, steps, withReference));
  const hadFocus = grid.contains(document.activeElement);
  grid.replaceChildren(el('thead', {}, [head]), el('tbody', {}, body));
  restoreFocus(hadFocus);
}

function renderRow(row: TableRow, steps: number[], withReference: boolean): HTMLTableRowElement {
  const promptCell = el('th', { className: 'prompt', attributes: { scope: 'row' } }, [
    el('div', { className: 'text', text: row.prompt }),
    el('div', { className: 'meta muted', text: `${row.promptId} · ${samplingText(row.sampling)}` }),
  ]);
  const cells: HTMLElement[] = [promptCell];
  if (withReference) cells.push(el('td', { className: 'reference' }, [el('div', { className: 'text', text: row.reference ?? '—' })]));
  for (const step of steps) cells.push(renderCell(row, step));
  return el('tr', { attributes: { 'data-prompt-id': row.promptId } }, cells);
}

function renderCell(row: TableRow, step: number): HTMLElement {
  const g = row.cells.get(step);
  const ref: CellRef = { step, promptId: row.promptId };
  const isSelected = selected?.step === step && selected.promptId === row.promptId;
  const td = el('td', {
    className: 'completion',
    attributes: {
      role: 'gridcell',
      tabindex: '-1',
      'aria-selected': String(isSelected),
      'data-step': String(step),
      'data-prompt-id': row.promptId,
    },
  });
  if (!g) {
    td.append(el('span', { className: 'muted', text: '—' }));
    return td;
  }
  const text = el('div', { className: 'text', text: g.completion });
  if (row.reference !== undefined) {
    const match = isExactMatch(g.completion, row.reference);
    td.dataset.match = String(match);
    td.append(el('span', { className: 'mark', text: match ? '✓' : '✗', attributes: { 'aria-label': match ? 'exact match' : 'differs from the reference', title: match ? 'Exact match' : 'Differs from the reference' } }));
  }
  td.append(text);
  td.addEventListener('click', () => choose(ref));
  td.addEventListener('keydown', (e) => onCellKey(e, ref));
  return td;
}

async function choose(ref: CellRef): Promise<void> {
  focused = ref;
  if (!selected) {
    selected = ref;
    setText(status, `Selected step ${ref.step} of ${ref.promptId}: select another cell to compare.`);
    render();
    return;
  }
  const left = selected;
  selected = undefined;
  render();
  if (left.step === ref.step && left.promptId === ref.promptId) {
    setText(status, '');
    return;
  }
  try {
    await bridge.request('diff', { left, right: ref });
    setText(status, `Comparing step ${left.step} (${left.promptId}) with step ${ref.step} (${ref.promptId})`);
  } catch (error) {
    setText(status, (error as Error).message);
  }
}

function onCellKey(e: KeyboardEvent, ref: CellRef): void {
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    void choose(ref);
    return;
  }
  const moves: Record<string, [number, number]> = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
  const move = moves[e.key];
  if (!move) return;
  e.preventDefault();
  const cells = [...grid.querySelectorAll<HTMLElement>('td.completion')];
  const rows = [...new Set(cells.map((c) => c.dataset.promptId))];
  const columns = [...new Set(cells.map((c) => Number(c.dataset.step)))];
  const r = Math.min(rows.length - 1, Math.max(0, rows.indexOf(ref.promptId) + move[0]));
  const c = Math.min(columns.length - 1, Math.max(0, columns.indexOf(ref.step) + move[1]));
  focused = { promptId: rows[r] ?? ref.promptId, step: columns[c] ?? ref.step };
  restoreFocus(true);
}

/** Roving tabindex: one cell is tabbable, and it keeps focus across re-renders. */
function restoreFocus(moveFocus: boolean): void {
  const cells = [...grid.querySelectorAll<HTMLElement>('td.completion')];
  const target = cells.find((c) => focused && c.dataset.promptId === focused.promptId && Number(c.dataset.step) === focused.step) ?? cells[0];
  if (!target) return;
  target.tabIndex = 0;
  if (moveFocus) target.focus();
}
