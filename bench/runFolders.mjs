// Run folders as the trainer writes them, for the editor-scale benchmark: events.jsonl lines in the
// trainer's own shape (json.dumps with separators (",", ":"), envelope first), status.json, and
// checkpoint folders. Every kind of line written here is checked against schema/events.schema.json
// (checkSchema) so the benchmark measures the files users have, not a simplification of them.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The line of one event: envelope first, compact separators, as trainer/sft_studio/run/events.py writes it. */
export function eventLine(seq, time, type, fields) {
  return `${JSON.stringify({ v: 1, seq, time, type, ...fields })}\n`;
}

function trainFields(step, totalSteps, noise) {
  const loss = 2.2 * Math.exp(-step / (totalSteps / 3)) + 0.35 + 0.08 * noise;
  return {
    step,
    epoch: Number((step / 1000).toFixed(4)),
    loss: Number(loss.toFixed(5)),
    grad_norm: Number((0.6 + 0.4 * Math.abs(noise)).toFixed(4)),
    learning_rate: Number((2e-4 * Math.min(1, step / 100) * (1 - step / (totalSteps + 1))).toExponential(6)),
    tokens: step * 8192,
    tokens_per_s: Number((9000 + 800 * noise).toFixed(1)),
    flops_per_s: Number((3.1e12 + 2e11 * noise).toExponential(6)),
    mem_bytes: 6_442_450_944 + Math.round(1e8 * Math.abs(noise)),
  };
}

/** A seeded stream of values in [-1, 1]: the same folders every time. */
function noiseFrom(seed) {
  let s = seed >>> 0 || 1;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 31) - 1;
}

/**
 * The lines of a finished run: run_started, one train event per step, an eval (and two generations)
 * every `evalEvery` steps, a checkpoint every `checkpointEvery`, run_finished. Returned in pieces
 * (an array of strings) so a 200k-event run is written without one giant string.
 */
export function finishedRunLines({ steps, configPath, startTime, seed = 1, evalEvery = 100, checkpointEvery = 1000, stepSeconds = 0.5 }) {
  const noise = noiseFrom(seed);
  const out = [];
  let seq = 0;
  let time = startTime;
  out.push(
    eventLine(seq++, time, 'run_started', {
      step: 0,
      config: { model_name_or_path: 'tiny-llama', train_file: 'data/instruct_train.jsonl', learning_rate: 0.0002, max_steps: steps },
      config_path: configPath,
      total_steps: steps,
      steps_per_epoch: 1000,
      num_parameters: 1_820_352,
      trainable_parameters: 1_820_352,
      world_size: 1,
      device: 'cuda',
      train_examples: 64_000,
      eval_examples: 640,
    }),
  );
  out.push(eventLine(seq++, time, 'log', { level: 'info', message: `training ${steps} steps on cuda` }));
  for (let step = 1; step <= steps; step++) {
    time += stepSeconds;
    out.push(eventLine(seq++, Number(time.toFixed(3)), 'train', trainFields(step, steps, noise())));
    if (step % evalEvery === 0) {
      const loss = 2.2 * Math.exp(-step / (steps / 3)) + 0.4;
      out.push(eventLine(seq++, time, 'eval', { step, epoch: step / 1000, loss: Number(loss.toFixed(5)), perplexity: Number(Math.exp(loss).toFixed(4)), token_accuracy: 0.5 + 0.3 * (step / steps) }));
      for (const id of ['p0', 'p1']) {
        out.push(eventLine(seq++, time, 'generation', { step, prompt_id: id, prompt: `Question ${id}?`, completion: `Answer at step ${step}.`, reference: 'Answer.', max_new_tokens: 32, temperature: 0, top_p: 1 }));
      }
    }
    if (step % checkpointEvery === 0) out.push(eventLine(seq++, time, 'checkpoint', { step, path: `checkpoints/step-${step}`, final: step === steps }));
  }
  out.push(eventLine(seq++, time, 'run_finished', { step: steps, status: 'completed', final_checkpoint: `checkpoints/step-${steps}` }));
  return out;
}

/** Writes a finished run folder with its events, status.json and the last checkpoint's folder. */
export function writeFinishedRun(runDir, options) {
  fs.mkdirSync(path.join(runDir, 'checkpoints', `step-${options.steps}`), { recursive: true });
  const fd = fs.openSync(path.join(runDir, 'events.jsonl'), 'w');
  const lines = finishedRunLines(options);
  for (let i = 0; i < lines.length; i += 10_000) fs.writeSync(fd, lines.slice(i, i + 10_000).join(''));
  fs.closeSync(fd);
  const end = options.startTime + options.steps * (options.stepSeconds ?? 0.5);
  fs.writeFileSync(path.join(runDir, 'status.json'), JSON.stringify({ pid: 1, state: 'completed', heartbeat: end, started: options.startTime, step: options.steps, total_steps: options.steps }));
  // Folder times follow the run's start, as they would for runs made over days.
  const when = new Date(options.startTime * 1000);
  fs.utimesSync(runDir, when, when);
  return lines.length;
}

/** A run the benchmark writes live, one write per event as the trainer does, with a fresh heartbeat. */
export class LiveRun {
  constructor(runDir, configPath, totalSteps) {
    this.runDir = runDir;
    this.totalSteps = totalSteps;
    this.seq = 0;
    this.step = 0;
    this.noise = noiseFrom(7);
    /** step → Date.now() when its line was written. */
    this.writtenAt = new Map();
    fs.mkdirSync(runDir, { recursive: true });
    this.fd = fs.openSync(path.join(runDir, 'events.jsonl'), 'a');
    this.beat();
    this.append('run_started', { step: 0, config: {}, config_path: configPath, total_steps: totalSteps, num_parameters: 1, trainable_parameters: 1, world_size: 1, device: 'cpu' });
    this.heartbeat = setInterval(() => this.beat(), 1000);
  }

  beat() {
    const status = { pid: process.pid, state: 'running', heartbeat: Date.now() / 1000, step: this.step, total_steps: this.totalSteps };
    const tmp = path.join(this.runDir, 'status.json.tmp');
    fs.writeFileSync(tmp, JSON.stringify(status));
    fs.renameSync(tmp, path.join(this.runDir, 'status.json'));
  }

  append(type, fields) {
    fs.writeSync(this.fd, eventLine(this.seq++, Date.now() / 1000, type, fields));
  }

  train() {
    this.step += 1;
    this.append('train', trainFields(this.step, this.totalSteps, this.noise()));
    this.writtenAt.set(this.step, Date.now());
    return this.step;
  }

  close() {
    clearInterval(this.heartbeat);
    fs.closeSync(this.fd);
  }
}

/** Validates one line of every event type this module writes against the events schema. */
export function checkSchema(repoRoot) {
  const Ajv2020 = require(path.join(repoRoot, 'node_modules', 'ajv', 'dist', '2020.js')).default;
  const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, 'schema', 'events.schema.json'), 'utf8'));
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
  const lines = finishedRunLines({ steps: 1000, configPath: '/w/demo.sft.yaml', startTime: 1_767_225_600 });
  const seen = new Set();
  for (const line of lines) {
    const event = JSON.parse(line);
    if (seen.has(event.type)) continue;
    seen.add(event.type);
    if (!validate(event)) throw new Error(`generated ${event.type} event is not schema-valid: ${JSON.stringify(validate.errors)}`);
  }
  return [...seen];
}
