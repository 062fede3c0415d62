// What gets judged: the answers of two sides to the same prompts. A side is the `generation`
// events of one step of a run directory (default: the last step that has any), or a JSONL file of
// {id, prompt, completion, reference?}; a side can also be the references themselves.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRunEvent } from '../protocol/events';
import { JudgeInputError } from './errors';
import type { JudgePair } from './types';

export interface Answer {
  id: string;
  prompt: string;
  completion: string;
  reference?: string;
}

export interface JudgeSide {
  /** Short name for summaries: `<run folder>@<step>`, a file name, or `reference`. */
  label: string;
  /** Where the answers came from (run directory or file). */
  source: string;
  /** The generation step, for run directories. */
  step?: number;
  answers: Answer[];
}

export const EVENTS_FILE = 'events.jsonl';

export function isRunDirectory(candidate: string): boolean {
  try {
    return fs.statSync(candidate).isDirectory() && fs.existsSync(path.join(candidate, EVENTS_FILE));
  } catch {
    return false;
  }
}

interface GenerationLine {
  step: number;
  prompt_id: string;
  prompt: string;
  completion: string;
  reference?: string;
}

function readGenerationEvents(runDir: string): GenerationLine[] {
  const file = path.join(runDir, EVENTS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new JudgeInputError(`${runDir} is not a run directory: cannot read ${EVENTS_FILE} (${(error as Error).message})`);
  }
  const found: GenerationLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"generation"')) continue;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      // The trainer may be writing this line right now; the rest of the file is still good.
      continue;
    }
    if (!isRunEvent(event) || event.type !== 'generation') continue;
    const g = event as unknown as Record<string, unknown>;
    if (typeof g.prompt_id !== 'string' || typeof g.prompt !== 'string' || typeof g.completion !== 'string') continue;
    found.push({
      step: event.step ?? 0,
      prompt_id: g.prompt_id,
      prompt: g.prompt,
      completion: g.completion,
      ...(typeof g.reference === 'string' ? { reference: g.reference } : {}),
    });
  }
  return found;
}

/** Steps at which the run wrote generations, ascending. */
export function generationSteps(runDir: string): number[] {
  return [...new Set(readGenerationEvents(runDir).map((g) => g.step))].sort((x, y) => x - y);
}

/** The answers a run generated at `step` (default: its last generation step). */
export function loadRunGenerations(runDir: string, step?: number): JudgeSide {
  const events = readGenerationEvents(runDir);
  const steps = [...new Set(events.map((g) => g.step))].sort((x, y) => x - y);
  if (steps.length === 0) {
    throw new JudgeInputError(`${runDir} has no generation events yet; judge it after its first evaluation`);
  }
  const chosen = step ?? steps[steps.length - 1];
  if (!steps.includes(chosen)) {
    throw new JudgeInputError(`${runDir} has no generations at step ${chosen}; steps with generations: ${steps.join(', ')}`);
  }
  // A resumed run may write a step's generations again; the later line wins.
  const byId = new Map<string, Answer>();
  for (const g of events) {
    if (g.step !== chosen) continue;
    const answer: Answer = { id: g.prompt_id, prompt: g.prompt, completion: g.completion };
    if (g.reference !== undefined) answer.reference = g.reference;
    byId.set(g.prompt_id, answer);
  }
  return { label: `${path.basename(path.resolve(runDir))}@${chosen}`, source: runDir, step: chosen, answers: [...byId.values()] };
}

/** A JSONL file of {id, prompt, completion, reference?} (`prompt_id` is accepted for `id`). */
export function loadAnswersFile(file: string): JudgeSide {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new JudgeInputError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const answers: Answer[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((line, index) => {
    if (!line.trim()) return;
    const where = `${file}:${index + 1}`;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new JudgeInputError(`${where}: not valid JSON (${(error as Error).message})`);
    }
    const id = row.id ?? row.prompt_id;
    if (typeof id !== 'string' && typeof id !== 'number') throw new JudgeInputError(`${where}: missing \`id\``);
    for (const field of ['prompt', 'completion']) {
      if (typeof row[field] !== 'string') throw new JudgeInputError(`${where}: field \`${field}\` must be a string`);
    }
    if (row.reference !== undefined && typeof row.reference !== 'string') {
      throw new JudgeInputError(`${where}: field \`reference\` must be a string`);
    }
    const key = String(id);
    if (seen.has(key)) throw new JudgeInputError(`${where}: id "${key}" appears twice; ids must be unique`);
    seen.add(key);
    const answer: Answer = { id: key, prompt: row.prompt as string, completion: row.completion as string };
    if (typeof row.reference === 'string') answer.reference = row.reference;
    answers.push(answer);
  });
  if (answers.length === 0) throw new JudgeInputError(`${file} holds no answers`);
  return { label: path.basename(file).replace(/\.jsonl$/, ''), source: file, answers };
}

/** A run directory or a JSONL file, whichever the path is. `step` applies to run directories only. */
export function loadSide(source: string, step?: number): JudgeSide {
  if (isRunDirectory(source)) return loadRunGenerations(source, step);
  if (fs.existsSync(source) && fs.statSync(source).isDirectory()) {
    throw new JudgeInputError(`${source} is a folder without ${EVENTS_FILE}; give a run directory or a JSONL file`);
  }
  if (step !== undefined) throw new JudgeInputError(`a step (${step}) only applies to run directories, not to ${source}`);
  return loadAnswersFile(source);
}

/** The side whose answers are the references of `side`'s prompts (prompts without one are left out). */
export function referenceSide(side: JudgeSide): JudgeSide {
  const answers = side.answers
    .filter((a) => a.reference !== undefined)
    .map((a) => ({ id: a.id, prompt: a.prompt, completion: a.reference as string, reference: a.reference }));
  if (answers.length === 0) throw new JudgeInputError(`${side.source} has no reference answers to judge against`);
  return { label: 'reference', source: side.source, answers };
}

export interface Pairing {
  pairs: JudgePair[];
  /** Prompt ids present on one side only; they are not judged. */
  onlyA: string[];
  onlyB: string[];
}

/** Matches the two sides by prompt id, in A's order. The reference comes from A, else from B. */
export function pairSides(a: JudgeSide, b: JudgeSide): Pairing {
  const bById = new Map(b.answers.map((answer) => [answer.id, answer]));
  const aIds = new Set(a.answers.map((answer) => answer.id));
  const pairs: JudgePair[] = [];
  for (const answerA of a.answers) {
    const answerB = bById.get(answerA.id);
    if (!answerB) continue;
    const pair: JudgePair = { id: answerA.id, prompt: answerA.prompt, a: answerA.completion, b: answerB.completion };
    const reference = answerA.reference ?? answerB.reference;
    if (reference !== undefined) pair.reference = reference;
    pairs.push(pair);
  }
  return {
    pairs,
    onlyA: a.answers.filter((x) => !bById.has(x.id)).map((x) => x.id),
    onlyB: b.answers.filter((x) => !aIds.has(x.id)).map((x) => x.id),
  };
}
