// Runs the TypeScript cases in a worker thread, one after another, and gives each a deadline: a case that
// hangs (a regex that backtracks for minutes, a quadratic parse) is stopped by terminating the worker, recorded
// as hung, and the remaining cases go on in a fresh worker. Synchronous code cannot be timed out otherwise.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { digest, inputsDir, normalise, type BadInputCase, type Outcome } from './corpus';
import { ENTRIES, GENERATORS, makeTokenizerFolder, thrown } from './entries';

export interface CaseResult extends Outcome {
  id: string;
  /** The entry point changed the input it read (nothing it reads may be written). */
  inputChanged: boolean;
  hung: boolean;
}

interface WorkerJob {
  badInputCorpus: true;
  cases: BadInputCase[];
  tmpRoot: string;
}

type WorkerNote = { started: string } | { done: CaseResult } | { finished: true };

const DEFAULT_TIMEOUT_S = 10;

export function isCorpusWorker(): boolean {
  return parentPort !== null && (workerData as Partial<WorkerJob> | undefined)?.badInputCorpus === true;
}

/** Every case's result; `script` is the file to start the worker from (the bundle this module is part of). */
export async function runInWorkers(script: string, cases: BadInputCase[], tmpRoot: string): Promise<Map<string, CaseResult>> {
  const results = new Map<string, CaseResult>();
  let remaining = cases;
  while (remaining.length > 0) {
    const hung = await oneWorker(script, remaining, tmpRoot, results);
    if (hung) results.set(hung.id, { id: hung.id, kind: `hung (no answer in ${hung.timeout_s ?? DEFAULT_TIMEOUT_S} s)`, message: '', inputChanged: false, hung: true });
    remaining = remaining.filter((c) => !results.has(c.id));
  }
  return results;
}

/** Runs cases until they are done or one passes its deadline; returns that one. */
function oneWorker(script: string, cases: BadInputCase[], tmpRoot: string, results: Map<string, CaseResult>): Promise<BadInputCase | undefined> {
  const job: WorkerJob = { badInputCorpus: true, cases, tmpRoot };
  const worker = new Worker(script, { workerData: job });
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let current: BadInputCase | undefined;
    // Stopped from here in every case: a case may leave a handle open that would keep the worker alive.
    const stop = (hung?: BadInputCase) => {
      clearTimeout(timer);
      void worker.terminate().then(() => resolve(hung), reject);
    };
    worker.on('message', (note: WorkerNote) => {
      clearTimeout(timer);
      if ('finished' in note) return stop();
      if ('done' in note) {
        results.set(note.done.id, note.done);
        return;
      }
      current = cases.find((c) => c.id === note.started);
      timer = setTimeout(() => stop(current), 1000 * (current?.timeout_s ?? DEFAULT_TIMEOUT_S));
    });
    worker.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** The worker's side: run the job's cases in order, reporting each start and result. */
export async function serveCorpusWorker(): Promise<void> {
  const { cases, tmpRoot } = workerData as WorkerJob;
  for (const c of cases) {
    parentPort?.postMessage({ started: c.id } satisfies WorkerNote);
    parentPort?.postMessage({ done: await runCase(c, tmpRoot) } satisfies WorkerNote);
  }
  parentPort?.postMessage({ finished: true } satisfies WorkerNote);
}

async function runCase(c: BadInputCase, tmpRoot: string): Promise<CaseResult> {
  const made = c.generate !== undefined || c.tokenizer !== undefined;
  const file = path.join(made ? tmpRoot : inputsDir, c.input);
  if (c.generate) {
    const generate = GENERATORS[c.generate];
    if (!generate) return { id: c.id, kind: `no generator ${c.generate}`, message: '', inputChanged: false, hung: false };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    generate(file);
  }
  if (c.tokenizer) makeTokenizerFolder(file, c.tokenizer);
  const before = digest(file);
  let outcome: Outcome;
  try {
    const entry = ENTRIES[c.entry];
    if (!entry) throw new Error(`no TypeScript entry point ${c.entry}`);
    outcome = await entry(file, c);
  } catch (error) {
    outcome = thrown(error);
  }
  return {
    id: c.id,
    kind: outcome.kind,
    message: normalise(outcome.message, tmpRoot),
    inputChanged: digest(file) !== before,
    hung: false,
  };
}
