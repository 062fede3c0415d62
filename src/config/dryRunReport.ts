// The trainer's `train CONFIG --dry-run --json` result as Markdown a person can read: every field it
// reports, named in words, numbers grouped, bytes in GiB. Fields are rendered generically so a field
// the trainer adds later still shows up.

export type ReportFocus = 'all' | 'memory';

const MEMORY_FIELD = /mem|bytes|param|device|dtype|world|batch/i;

/** `trainable_params` → `Trainable params`. */
export function humanName(key: string): string {
  const words = key.replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (gib >= 1) return `${gib.toFixed(2)} GiB`;
  const mib = bytes / 1024 ** 2;
  return mib >= 1 ? `${mib.toFixed(1)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

export function formatValue(key: string, value: unknown): string {
  if (typeof value === 'number') {
    if (/bytes/i.test(key)) return formatBytes(value);
    if (/(fraction|ratio|rate)$/i.test(key) && value >= 0 && value <= 1) return `${(value * 100).toFixed(1)}%`;
    return Number.isInteger(value) ? value.toLocaleString('en-US') : String(Number(value.toPrecision(4)));
  }
  if (value === null || value === undefined) return '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Markdown table cells must not break the table or render markup from the trainer's text. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[<>*_`[\]]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

function table(entries: [string, unknown][]): string[] {
  const rows = ['| | |', '|---|---:|'];
  for (const [key, value] of entries) rows.push(`| ${cell(humanName(key))} | ${cell(formatValue(key, value))} |`);
  return rows;
}

function fence(text: string): string[] {
  // A fence longer than any backtick run inside keeps the output verbatim.
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const marks = '`'.repeat(longest + 1);
  return [marks + 'text', text, marks];
}

export function dryRunMarkdown(input: {
  configLabel: string;
  focus: ReportFocus;
  result?: Record<string, unknown>;
  /** Shown when there is no JSON result (older trainer, or a failure). */
  output?: string;
  exitCode?: number | null;
}): string {
  const title = input.focus === 'memory' ? 'Memory estimate' : 'Dry run';
  const lines = [`# ${title}: ${cell(input.configLabel)}`, ''];
  if (!input.result) {
    lines.push(
      input.exitCode === 0
        ? 'The trainer finished without a JSON summary (`train CONFIG --dry-run --json` prints one as its last line in newer versions). Its output:'
        : `The dry run failed (exit code ${String(input.exitCode)}). The trainer's output:`,
      '',
      ...fence((input.output ?? '').trim() || '(no output)'),
    );
    return `${lines.join('\n')}\n`;
  }
  const scalars: [string, unknown][] = [];
  const nested: [string, Record<string, unknown>][] = [];
  for (const [key, value] of Object.entries(input.result)) {
    if (input.focus === 'memory' && !MEMORY_FIELD.test(key)) continue;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) nested.push([key, value as Record<string, unknown>]);
    else scalars.push([key, value]);
  }
  lines.push(
    input.focus === 'memory'
      ? 'What the trainer expects this config to need at its peak, before anything is trained.'
      : 'What the trainer would do with this config, computed without training a step.',
    '',
  );
  if (scalars.length > 0) lines.push(...table(scalars), '');
  for (const [key, value] of nested) lines.push(`## ${cell(humanName(key))}`, '', ...table(Object.entries(value)), '');
  if (scalars.length === 0 && nested.length === 0) lines.push('_The trainer reported no fields of this kind._', '');
  return `${lines.join('\n')}\n`;
}
