// Token insight panel: the training set's statistics, a length histogram, and the label-mask preview
// (token boundaries visible, masked tokens dimmed, trained tokens highlighted) of a chosen example.
import { isTokensState, type ExamplePreview, type TokensRequests, type TokensState, type TokensWebviewState } from '../../src/protocol/tokens';
import { connect } from '../bridge';
import './tokens.css';
import { el, setText } from '../ui/dom';

const app = document.getElementById('app') as HTMLElement;
const status = el('div', { className: 'status' });
const stats = el('div', { className: 'stats' });
const histogram = el('div', { className: 'histogram', attributes: { role: 'img', 'aria-label': 'tokens per example' } });
const axis = el('div', { className: 'axis' });
const indexInput = el('input', { attributes: { type: 'number', min: '1', value: '1', 'aria-label': 'example number' } });
const showButton = el('button', { text: 'Show example' });
const recountButton = el('button', { text: 'Count again' });
const exampleInfo = el('div', { className: 'example-info' });
const mask = el('div', { className: 'mask', attributes: { 'aria-label': 'label mask' } });
const rendered = el('pre', { className: 'rendered' });

app.append(
  el('h2', { text: 'Token statistics' }),
  status,
  stats,
  histogram,
  axis,
  el('h2', { text: 'Label mask' }),
  el('div', { className: 'picker' }, [el('span', { text: 'Example' }), indexInput, showButton, recountButton]),
  exampleInfo,
  mask,
  el('h3', { text: 'Text produced by the chat template' }),
  rendered,
);

const bridge = connect<TokensRequests, TokensState, TokensWebviewState>(isTokensState, render);
let shown = false;

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

function render(state: TokensState): void {
  // Saved for the serializer: after a window reload the panel reopens on this config.
  if (bridge.getState().configPath !== state.configPath) bridge.setState({ configPath: state.configPath });
  status.className = state.status === 'error' ? 'status error' : 'status';
  if (state.status === 'computing') setText(status, `Counting… ${state.progress.done} / ${state.progress.total || '?'} examples`);
  else if (state.status === 'error') setText(status, state.error ?? 'failed');
  else setText(status, state.configPath);
  const s = state.stats;
  if (!s || state.status !== 'done') return;
  const rows: [string, string][] = [
    ['examples', s.examples.toLocaleString('en-US')],
    ['tokens', `${s.tokens.toLocaleString('en-US')} (mean ${s.mean_length.toFixed(1)}, longest ${s.longest})`],
    ['truncated at max_length', `${s.truncated_examples} (${percent(s.truncated_fraction)}) at ${s.max_length}`],
    ['dropped as overlong', s.dropped_examples ? `${s.dropped_examples} (first: ${s.first_dropped ?? '?'})` : '0'],
    ['trained tokens', `${s.trained_tokens.toLocaleString('en-US')} (${percent(s.tokens ? s.trained_tokens / s.tokens : 0)})`],
    ['masked tokens', s.masked_tokens.toLocaleString('en-US')],
    ['packing efficiency', `bfd ${percent(s.packing_efficiency.bfd)}, wrapped ${percent(s.packing_efficiency.wrapped)}`],
    ['padded batches', percent(s.padding_efficiency)],
  ];
  stats.replaceChildren(...rows.flatMap(([k, v]) => [el('span', { text: k }), el('span', { className: `stat-${k.split(' ')[0]}`, text: v })]));
  const top = Math.max(1, ...s.histogram.counts);
  histogram.replaceChildren(
    ...s.histogram.counts.map((count, i) => {
      const bar = el('div', { className: 'bar', title: `${s.histogram.edges[i]}–${s.histogram.edges[i + 1]} tokens: ${count} examples` });
      bar.style.height = `${(count / top) * 100}%`;
      return bar;
    }),
  );
  axis.replaceChildren(el('span', { text: '0' }), el('span', { text: `${s.max_length} tokens` }));
  indexInput.max = String(s.examples);
  if (!shown) {
    shown = true;
    void showExample(bridge.getState().index ?? 0);
  }
}

function renderExample(preview: ExamplePreview): void {
  setText(exampleInfo, `example ${preview.index + 1}, line ${preview.line}${preview.truncated ? ' (truncated)' : ''}: ${preview.tokens.filter((t) => t.trained).length} of ${preview.tokens.length} tokens trained`);
  mask.replaceChildren(
    ...preview.tokens.map((t) => el('span', { className: t.trained ? 'tok trained' : 'tok masked', text: t.text, title: `id ${t.id}${t.trained ? ' · trained' : ' · masked'}` })),
  );
  setText(rendered, preview.rendered);
}

async function showExample(index: number): Promise<void> {
  try {
    renderExample(await bridge.request('example', { index }));
    indexInput.value = String(index + 1);
    bridge.setState({ index });
  } catch (error) {
    setText(exampleInfo, (error as Error).message);
  }
}

showButton.addEventListener('click', () => void showExample(Math.max(0, Number(indexInput.value) - 1)));
indexInput.addEventListener('keydown', (e) => e.key === 'Enter' && void showExample(Math.max(0, Number(indexInput.value) - 1)));
recountButton.addEventListener('click', () => {
  shown = false;
  void bridge.request('recompute', {});
});
