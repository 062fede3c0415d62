// Draws the comparison table (comparison.ts) when the dashboard shows several runs. A column header
// is a button: a click sorts by that column, a second click reverses it; aria-sort says which.
// Cells are text (run names and config values come from files).
import { el } from '../ui/dom';
import { nextSort, sortRows, type ComparisonTable, type SortOrder } from './comparison';

export class ComparisonView {
  readonly element: HTMLElement;
  private readonly note: HTMLElement;
  private readonly table: HTMLTableElement;
  private content: ComparisonTable | undefined;
  /** What the table was last drawn from: a delta that changes nothing shown costs no DOM work. */
  private drawnKey = '';

  constructor(
    private order: SortOrder | undefined,
    private readonly onSort: (order: SortOrder) => void,
  ) {
    this.note = el('p', { id: 'compare-note', className: 'muted' });
    this.table = el('table', { id: 'compare-table', className: 'compare-table' });
    this.element = el('section', { id: 'compare-section', className: 'compare-section', attributes: { 'aria-label': 'Compared runs' } }, [
      el('h2', { text: 'Compared runs' }),
      this.note,
      el('div', { className: 'compare-scroll' }, [this.table]),
    ]);
    this.element.hidden = true;
  }

  /** Shows the table, or hides it (undefined: one run shown). */
  show(content: ComparisonTable | undefined): void {
    this.content = content;
    this.element.hidden = content === undefined;
    this.draw();
  }

  private draw(): void {
    const content = this.content;
    if (!content) return;
    const rows = sortRows(content.rows, this.order);
    const key = JSON.stringify([this.order, content.note, content.columns, rows]);
    if (key === this.drawnKey) return;
    this.drawnKey = key;
    this.note.textContent = content.note;
    this.note.hidden = content.note === '';
    const head = el(
      'tr',
      {},
      content.columns.map((column) => {
        const sorted = this.order?.key === column.key ? this.order.direction : undefined;
        const button = el('button', {
          className: 'sort',
          title: column.title ?? `Sort by ${column.label}`,
          attributes: { type: 'button', 'data-key': column.key },
        }, [el('span', { text: column.label }), el('span', { className: 'sort-indicator', text: sorted === 'ascending' ? '▲' : sorted === 'descending' ? '▼' : '' })]);
        button.addEventListener('click', () => {
          this.order = nextSort(this.order, column.key);
          this.onSort(this.order);
          this.draw();
        });
        return el('th', {
          className: column.numeric ? 'numeric' : undefined,
          attributes: { scope: 'col', 'aria-sort': sorted ?? 'none', 'data-key': column.key },
        }, [button]);
      }),
    );
    const body = rows.map((row) =>
      el(
        'tr',
        { attributes: { 'data-run-dir': row.runDir } },
        content.columns.map((column, i) => {
          const cell = row.cells[column.key] ?? { value: null, text: '–' };
          return el(i === 0 ? 'th' : 'td', {
            className: column.numeric ? 'numeric' : undefined,
            text: cell.text,
            title: cell.title,
            attributes: { 'data-key': column.key, ...(i === 0 ? { scope: 'row' } : {}) },
          });
        }),
      ),
    );
    this.table.replaceChildren(el('thead', {}, [head]), el('tbody', {}, body));
  }
}
