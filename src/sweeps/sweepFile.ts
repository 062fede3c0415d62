// sweep.json as the trainer writes it (trainer/sft_studio/launch/sweep.py), read defensively: a sweep folder is
// workspace content, so every field is checked before the extension relies on it. Also the live view of a
// sweep for its panel: trial states and objectives from the run registry, not from the last sweep.json write.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isFiniteNumber, isObject, isStep, isString } from '../protocol/bridge';
import type { RunEvent } from '../protocol/events';
import type { RunSummary } from '../protocol/runSummary';
import { SWEEP_METHODS, type ParamValue, type SweepMethod, type SweepTrialRow, type SweepView } from '../protocol/sweep';

export const SWEEP_FILE = 'sweep.json';

export interface SweepTrial {
  index: number;
  params: Record<string, ParamValue>;
  /** `--set` overrides of this trial's run, in order. */
  overrides: string[];
  runDir: string;
  status: string;
  objective: number | null;
  finalObjective: number | null;
  bestStep: number | null;
  reason: string | null;
}

export interface SweepDoc {
  id: string;
  sweepDir: string;
  configPath: string;
  method: SweepMethod;
  maxTrials: number | null;
  parameters: Record<string, { values?: ParamValue[]; min?: number; max?: number; log?: boolean }>;
  metric: string;
  greaterIsBetter: boolean;
  trials: SweepTrial[];
}

const isParamValue = (v: unknown): v is ParamValue => isString(v) || isFiniteNumber(v) || typeof v === 'boolean';
const nullableNumber = (v: unknown): number | null => (isFiniteNumber(v) ? v : null);

/** The document of `sweep.json` (or of `sweep --json` output), or undefined when it is not one. */
export function parseSweepDoc(value: unknown, sweepDir?: string): SweepDoc | undefined {
  if (!isObject(value) || !isString(value.id) || !isString(value.config_path)) return undefined;
  if (!(SWEEP_METHODS as readonly unknown[]).includes(value.method)) return undefined;
  const objective = value.objective;
  if (!isObject(objective) || !isString(objective.metric) || typeof objective.greater_is_better !== 'boolean') return undefined;
  if (!isObject(value.parameters) || !Array.isArray(value.trials)) return undefined;
  const dir = sweepDir ?? (isString(value.sweep_dir) ? value.sweep_dir : undefined);
  if (!dir) return undefined;
  const trials: SweepTrial[] = [];
  for (const t of value.trials) {
    if (!isObject(t) || !isStep(t.index) || !isString(t.run_dir) || !isObject(t.params) || !Array.isArray(t.overrides)) return undefined;
    if (!Object.values(t.params).every(isParamValue) || !t.overrides.every(isString)) return undefined;
    trials.push({
      index: t.index,
      params: t.params as Record<string, ParamValue>,
      overrides: t.overrides as string[],
      runDir: t.run_dir,
      status: isString(t.status) ? t.status : 'pending',
      objective: nullableNumber(t.objective),
      finalObjective: nullableNumber(t.final_objective),
      bestStep: isStep(t.best_step) ? t.best_step : null,
      reason: isString(t.reason) ? t.reason : null,
    });
  }
  return {
    id: value.id,
    sweepDir: dir,
    configPath: value.config_path,
    method: value.method as SweepMethod,
    maxTrials: isStep(value.max_trials) ? value.max_trials : null,
    parameters: value.parameters as SweepDoc['parameters'],
    metric: objective.metric,
    greaterIsBetter: objective.greater_is_better,
    trials,
  };
}

export function readSweep(sweepDir: string): SweepDoc | undefined {
  try {
    return parseSweepDoc(JSON.parse(fs.readFileSync(path.join(sweepDir, SWEEP_FILE), 'utf8')), sweepDir);
  } catch {
    return undefined;
  }
}

/** The sweep folder a trial's run folder lies in (`<sweep>/trial-<k>`), if it is one. */
export function sweepDirOfRun(runDir: string, exists: (file: string) => boolean = fs.existsSync): string | undefined {
  const parent = path.dirname(runDir);
  return exists(path.join(parent, SWEEP_FILE)) ? parent : undefined;
}

/** Whether a config's text has a top-level `sweep:` block (YAML) or "sweep" key (JSON); cheap, for the lens. */
export function hasSweepBlock(text: string): boolean {
  return /^sweep\s*:/m.test(text) || /^\s*"sweep"\s*:/m.test(text);
}

export interface RunLookup {
  get(runDir: string): RunSummary | undefined;
  events(runDir: string): readonly RunEvent[];
}

/** A trial's state and objectives from its events as the registry holds them now. */
export function liveTrial(trial: SweepTrial, doc: Pick<SweepDoc, 'metric' | 'greaterIsBetter'>, runs: RunLookup): SweepTrialRow {
  const summary = runs.get(trial.runDir);
  const row: SweepTrialRow = {
    index: trial.index,
    runDir: trial.runDir,
    params: trial.params,
    status: summary?.state ?? trial.status,
    objective: trial.objective,
    finalObjective: trial.finalObjective,
    bestStep: trial.bestStep,
    earlyStopped: trial.reason === 'early_stopped',
  };
  if (!summary) return row;
  let best: { value: number; step: number } | undefined;
  let last: number | null = null;
  for (const event of runs.events(trial.runDir)) {
    if (event.type === 'eval') {
      const value = (event as unknown as Record<string, unknown>)[doc.metric];
      if (!isFiniteNumber(value)) continue;
      last = value;
      if (!best || (doc.greaterIsBetter ? value > best.value : value < best.value)) best = { value, step: event.step ?? 0 };
    } else if (event.type === 'run_started') {
      row.earlyStopped = false;
    } else if (event.type === 'run_finished') {
      row.earlyStopped = event.reason === 'early_stopped';
    }
  }
  row.objective = best?.value ?? null;
  row.bestStep = best?.step ?? null;
  row.finalObjective = last;
  return row;
}

/** The panel's view of a sweep: every trial live, the best one by objective. */
export function sweepView(doc: SweepDoc, runs: RunLookup): SweepView {
  const trials = doc.trials.map((t) => liveTrial(t, doc, runs));
  let bestTrial: number | null = null;
  let bestValue: number | undefined;
  for (const t of trials) {
    if (t.objective === null) continue;
    if (bestValue === undefined || (doc.greaterIsBetter ? t.objective > bestValue : t.objective < bestValue)) {
      bestValue = t.objective;
      bestTrial = t.index;
    }
  }
  return {
    id: doc.id,
    sweepDir: doc.sweepDir,
    method: doc.method,
    metric: doc.metric,
    greaterIsBetter: doc.greaterIsBetter,
    parameters: Object.keys(doc.parameters),
    logParameters: Object.entries(doc.parameters).filter(([, spec]) => isObject(spec) && spec.log === true).map(([name]) => name),
    maxTrials: doc.maxTrials,
    trials,
    bestTrial,
  };
}
