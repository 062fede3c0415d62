// The generations panel's exports (host only): long-format JSONL and CSV of the rows a filter keeps.
import { isExactMatch, type TableRow } from '../shared/generationTable';

/** Long format: one line per prompt and step, in table order. */
function exportRecords(rows: readonly TableRow[], steps: readonly number[]) {
  return rows.flatMap((row) =>
    steps.flatMap((step) => {
      const g = row.cells.get(step);
      if (!g) return [];
      return [
        {
          prompt_id: row.promptId,
          step,
          prompt: g.prompt,
          completion: g.completion,
          reference: row.reference ?? null,
          exact_match: row.reference === undefined ? null : isExactMatch(g.completion, row.reference),
          max_new_tokens: g.maxNewTokens,
          temperature: g.temperature,
          top_p: g.topP,
        },
      ];
    }),
  );
}

export function toJsonl(rows: readonly TableRow[], steps: readonly number[]): string {
  return exportRecords(rows, steps)
    .map((r) => `${JSON.stringify(r)}\n`)
    .join('');
}

export function toCsv(rows: readonly TableRow[], steps: readonly number[]): string {
  const records = exportRecords(rows, steps);
  const header = ['prompt_id', 'step', 'prompt', 'completion', 'reference', 'exact_match', 'max_new_tokens', 'temperature', 'top_p'] as const;
  const lines = [header.join(',')];
  for (const r of records) lines.push(header.map((k) => csvField(r[k])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * RFC 4180 quoting; text that a spreadsheet would run as a formula (=, +, -, @, tab, CR at the
 * start) gets a leading apostrophe, since model output is untrusted.
 */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
