// The judge's output folder (`<runs directory>/judge/<id>/` in the extension, --out in the CLI):
//   results.jsonl  one line per finished single-order call, appended as it arrives (the resume log)
//   records.jsonl  one line per prompt, both orders and the outcome (rewritten at the end of a run)
//   summary.json   the JudgeSummary (rewritten at the end of a run)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isJudgeSummary, isOrderRecord, startParamsProblem, type JudgeListing, type JudgeView, type StartParams } from '../protocol/judge';
import { JudgeInputError } from './errors';
import { redactText } from './redact';
import type { CallResult, JudgeSummary, OrderRecord, PromptRecord, TokenUsage } from './types';

export const RESULTS_FILE = 'results.jsonl';
export const RECORDS_FILE = 'records.jsonl';
export const SUMMARY_FILE = 'summary.json';
/** Written next to the engine's files so the panel can resume the same judgement later. */
export const REQUEST_FILE = 'panel-request.json';


/** `<runs directory>/judge/<id>`, where the extension keeps each judgement. */
export function judgeDirectory(runsDirectory: string, id: string): string {
  return path.join(runsDirectory, 'judge', id);
}

/** A folder name for a new judgement: `<a>-vs-<b>-<UTC timestamp>`, safe on every file system. */
export function newJudgeId(aLabel: string, bLabel: string, now: Date = new Date()): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40) || 'x';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${safe(aLabel)}-vs-${safe(bLabel)}-${stamp}`;
}

function isCallResult(value: unknown): value is CallResult {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.key === 'string' &&
    typeof r.prompt_id === 'string' &&
    (r.order === 'ab' || r.order === 'ba') &&
    typeof r.usage === 'object' &&
    r.usage !== null
  );
}

/**
 * The usable lines of a results.jsonl: a call result of the right shape whose verdict fields are what a
 * record may hold. One rule for the engine's resume and the panel's live view; anything else (a line
 * cut short by a crash, another program's line) is skipped.
 */
function parseResults(text: string): CallResult[] {
  return text.split('\n').flatMap((line) => {
    if (!line.trim()) return [];
    try {
      const value: unknown = JSON.parse(line);
      return isCallResult(value) && isOrderRecord(value) ? [value] : [];
    } catch {
      return [];
    }
  });
}

/** The call results recorded in a judgement folder (none when it has no results.jsonl yet). */
export function readResults(outDir: string): CallResult[] {
  try {
    return parseResults(fs.readFileSync(path.join(outDir, RESULTS_FILE), 'utf8'));
  } catch {
    return [];
  }
}

/** The append-only log of call results. A line cut short by a crash is skipped, not fatal. */
export class ResultsLog {
  readonly file: string;
  private readonly latest = new Map<string, CallResult>();
  private readonly spent: TokenUsage = { input_tokens: 0, output_tokens: 0 };

  constructor(outDir: string) {
    fs.mkdirSync(outDir, { recursive: true });
    this.file = path.join(outDir, RESULTS_FILE);
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const result of parseResults(text)) this.remember(result);
    // A crash mid-write leaves a line without its newline; start the next line on a fresh one.
    if (text.length > 0 && !text.endsWith('\n')) fs.appendFileSync(this.file, '\n');
  }

  /** The latest result recorded for a call key (a verdict is final; an error is asked again on resume). */
  get(key: string): CallResult | undefined {
    return this.latest.get(key);
  }

  /** Tokens of every call ever recorded here, errors included: what the budget is measured against. */
  get usage(): TokenUsage {
    return { ...this.spent };
  }

  /** Appends and flushes one line before returning, so a crash right after loses nothing. */
  append(result: CallResult): void {
    const clean = redactResult(result);
    fs.appendFileSync(this.file, `${JSON.stringify(clean)}\n`);
    this.remember(clean);
  }

  private remember(result: CallResult): void {
    this.latest.set(result.key, result);
    this.spent.input_tokens += result.usage.input_tokens ?? 0;
    this.spent.output_tokens += result.usage.output_tokens ?? 0;
  }
}

/** Write to a temporary file and rename, so a reader never sees half a summary. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * The fields that carry text from the endpoint or its configuration (error bodies, the judge's id
 * with its base URL, the model's argument) go through redaction on their way to disk. Prompts and
 * answers are the user's own data and are kept as they are.
 */
function redactResult<T extends OrderRecord | CallResult>(result: T): T {
  const clean = { ...result };
  if (clean.error !== undefined) clean.error = redactText(clean.error);
  if (clean.argument !== undefined) clean.argument = redactText(clean.argument);
  return clean;
}

function redactRecord(record: PromptRecord): PromptRecord {
  return { ...record, ab: record.ab && redactResult(record.ab), ba: record.ba && redactResult(record.ba) };
}

function redactSummary(summary: JudgeSummary): JudgeSummary {
  const clean = { ...summary, judge: redactText(summary.judge) };
  if (clean.message !== undefined) clean.message = redactText(clean.message);
  return clean;
}

/** Writes records.jsonl and summary.json; returns them as written (secrets redacted). */
export function writeOutputs(
  outDir: string,
  records: readonly PromptRecord[],
  summary: JudgeSummary,
): { records: PromptRecord[]; summary: JudgeSummary } {
  const cleanRecords = records.map(redactRecord);
  const cleanSummary = redactSummary(summary);
  writeFileAtomic(path.join(outDir, RECORDS_FILE), cleanRecords.map((r) => `${JSON.stringify(r)}\n`).join(''));
  writeFileAtomic(path.join(outDir, SUMMARY_FILE), `${JSON.stringify(cleanSummary, null, 2)}\n`);
  return { records: cleanRecords, summary: cleanSummary };
}

/**
 * The summary of a finished (or stopped) judgement; undefined when none was written yet. A file
 * that is there but unreadable or not a summary throws a JudgeInputError naming the file, so a
 * caller listing many folders can show that one as broken and keep the others.
 */
/** A JSON file's value, or undefined when it does not exist; unreadable or invalid JSON is a JudgeInputError
 * naming the file (`hint` is appended to the invalid-JSON message). */
export function readOptionalJson(file: string, hint = ''): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new JudgeInputError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new JudgeInputError(`${file} is not valid JSON (${(error as Error).message})${hint}`);
  }
}

export function readSummary(outDir: string): JudgeSummary | undefined {
  const file = path.join(outDir, SUMMARY_FILE);
  const value = readOptionalJson(file);
  if (value === undefined) return undefined;
  if (!isJudgeSummary(value)) throw new JudgeInputError(`${file} is not a judge summary (fields missing or out of range)`);
  return value;
}

export function readRecords(outDir: string): PromptRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(outDir, RECORDS_FILE), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as PromptRecord);
}

/** A finished judgement read back from its folder; throws when its summary is broken. */
export function storedView(dir: string): JudgeView | undefined {
  const summary = readSummary(dir);
  if (!summary) return undefined;
  const records = readRecords(dir);
  return { id: path.basename(dir), dir, running: false, done: summary.calls - summary.errors, total: summary.pairs * 2, summary, records };
}

export interface StoredRequest {
  params: StartParams;
}

export function writeRequest(dir: string, params: StartParams): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, REQUEST_FILE), `${JSON.stringify({ params } satisfies StoredRequest, null, 2)}\n`);
}

/**
 * The request a panel judgement was started with; undefined when the folder has none. The file
 * may come from anywhere (a cloned repository, a shared drive), so it is held to the same rules as a
 * start request from the panel, and anything else is refused with the field at fault.
 */
export function readRequest(dir: string): StoredRequest | undefined {
  const file = path.join(dir, REQUEST_FILE);
  const value = readOptionalJson(file, '; start the judgement again from the panel');
  if (value === undefined) return undefined;
  const problem =
    typeof value !== 'object' || value === null || Array.isArray(value)
      ? 'not an object'
      : Object.keys(value).some((k) => k !== 'params')
        ? `unknown field ${Object.keys(value).filter((k) => k !== 'params').map((k) => JSON.stringify(k)).join(', ')}`
        : startParamsProblem((value as Record<string, unknown>).params);
  if (problem) throw new Error(`${file} is not a judge request: ${problem}; start the judgement again from the panel`);
  return value as StoredRequest;
}

/** Judgement folders under each root, newest first. A folder that cannot be read is listed with its error. */
export function listJudgements(roots: Iterable<string>): JudgeListing[] {
  const found: { listing: JudgeListing; mtime: number }[] = [];
  for (const root of new Set(roots)) {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(root, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) found.push(listingOf(path.join(root, entry.name)));
    }
  }
  return found.sort((a, b) => b.mtime - a.mtime).map((f) => f.listing);
}

function listingOf(dir: string): { listing: JudgeListing; mtime: number } {
  const listing: JudgeListing = { id: path.basename(dir), dir, resumable: false };
  let complete = false;
  try {
    const summary = readSummary(dir);
    if (summary) {
      listing.summary = summary;
      complete = summary.calls - summary.errors >= summary.pairs * 2;
    }
  } catch (error) {
    listing.error = (error as Error).message;
  }
  let mtime = 0;
  try {
    listing.resumable = !complete && fs.existsSync(path.join(dir, REQUEST_FILE));
    mtime = fs.statSync(dir).mtimeMs;
  } catch {
    // Removed while listing: it sorts last and cannot be resumed.
  }
  return { listing, mtime };
}
