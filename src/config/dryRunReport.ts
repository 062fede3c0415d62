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

function fence(text: string, language = 'text'): string[] {
  // A fence longer than any backtick run inside keeps the output verbatim.
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const marks = '`'.repeat(longest + 1);
  return [marks + language, text, marks];
}

/** `submit CONFIG --dry-run --json` for a `launcher: slurm` config: the script ▶ Run would hand to sbatch. */
export interface SlurmDryRun {
  /** From the JSON line; absent when the trainer could not write the script. */
  script?: string;
  runDir?: string;
  output?: string;
  exitCode?: number | null;
}

function slurmSection(slurm: SlurmDryRun): string[] {
  const lines = ['## Slurm job', ''];
  if (!slurm.script) {
    lines.push(
      `\`launcher: slurm\`, but the sbatch script could not be written (\`submit --dry-run\` exit code ${String(slurm.exitCode)}). The trainer's output:`,
      '',
      ...fence((slurm.output ?? '').trim() || '(no output)'),
      '',
    );
    return lines;
  }
  lines.push(
    "`launcher: slurm`: ▶ Run submits this script with `sbatch` (`python -m sft_studio submit`); nothing was submitted now. " +
      `The run folder is named at submission${slurm.runDir ? `; submitted now it would be ${cell(slurm.runDir)}` : ''}.`,
    '',
    ...fence(slurm.script.replace(/\n$/, ''), 'bash'),
    '',
  );
  return lines;
}

export function dryRunMarkdown(input: {
  configLabel: string;
  focus: ReportFocus;
  result?: Record<string, unknown>;
  /** Shown when there is no JSON result (older trainer, or a failure). */
  output?: string;
  exitCode?: number | null;
  /** Only for `launcher: slurm` configs: the job script, after the trainer's dry run. */
  slurm?: SlurmDryRun;
}): string {
  const title = input.focus === 'memory' ? 'Memory estimate' : 'Dry run';
  const lines = [`# ${title}: ${cell(input.configLabel)}`, ''];
  const slurm = input.slurm ? slurmSection(input.slurm) : [];
  if (!input.result) {
    lines.push(
      input.exitCode === 0
        ? 'The trainer finished without a JSON summary (`train CONFIG --dry-run --json` prints one as its last line in newer versions). Its output:'
        : `The dry run failed (exit code ${String(input.exitCode)}). The trainer's output:`,
      '',
      ...fence((input.output ?? '').trim() || '(no output)'),
    );
    if (slurm.length > 0) lines.push('', ...slurm.slice(0, -1));
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
  lines.push(...slurm);
  return `${lines.join('\n')}\n`;
}
