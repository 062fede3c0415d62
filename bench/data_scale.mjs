#!/usr/bin/env node
// `npm run bench:data` (`node bench/data_scale.mjs`): an Alpaca-size dataset, one JSON list of 52,000
// rows, on both sides of SFT Studio.
//
//   editor    full token statistics as the code lens and the tokens panel get them: a TokenStatsJob in a
//             fresh Node process (worker thread + helper threads, transformers.js); wall time (goal < 3 s),
//             the main thread's longest event-loop block while it runs (goal < 50 ms), peak RSS.
//   trainer   read_rows alone; load_splits as the run calls it, with the share of reading, the chat
//             template, the tokenizer and the rest; `train CONFIG --dry-run --json` end to end
//             (goal < 10 s); peak RSS of each.
//   memory    peak RSS beyond the process's own start (editor: beyond the same job on a one-row file, i.e.
//             transformers.js and threads) over the file size (goal < 3x).
//
// The dataset is generated deterministically (instruction 5-40 words, input on 40% of rows 3-60 words,
// output 10-300 words, log-uniform lengths, some numbered lists, a few non-ASCII words) with the
// bundled tiny model (examples/tiny-llama, a byte-level tokenizer: about one token per byte).
// Writes bench/results/data-scale-cpu-<date>.json and the table in bench/README.md.
// Options: --rows N, --threads 1,2 (thread counts of the editor runs; default 1 and the machine's
// parallelism), --max-length N (default 2048), --out FILE, --keep (keep the temporary folder).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const python = path.join(repoRoot, '.venv', 'bin', 'python');
const bundleDir = path.join(repoRoot, 'out', 'bench');
const runtimeLoaded = ['@huggingface/transformers', 'onnxruntime-node', 'openai', 'ajv'];
const MiB = 2 ** 20;

const round = (x, digits = 3) => Number(x.toFixed(digits));
const log = (message) => process.stdout.write(`[bench:data] ${message}\n`);

// ---------------------------------------------------------------------------------------------------
// The dataset.

const WORDS = (
  'the of and to in is for that with as on be are this by an it from or can at which your have more will not about use ' +
  'make data time how new when also one two first each other these some what into than like then their them only people ' +
  'way used many such most should could would write explain describe list give three example following sentence word text ' +
  'story poem summary reason answer question steps simple short long good best important different small large number ' +
  'water energy system process model language computer science history world city country health food music art team work ' +
  'company market product customer design research study result method value change growth learning network power light ' +
  'life family friend school student teacher book idea problem solution plan goal future past present day year week hour ' +
  'because however therefore although while before after during between through under over against without within around'
).split(' ');
const RARE = ['café', 'naïve', 'résumé', 'façade', 'jalapeño', 'Zürich', '—', '€5', '°C', '😀'];

function mulberry32(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` Alpaca rows, the same for the same seed. */
function alpacaRows(n, seed = 52002) {
  const random = mulberry32(seed);
  const logUniform = (lo, hi) => Math.round(Math.exp(Math.log(lo) + random() * (Math.log(hi) - Math.log(lo))));
  const sentence = (count) => {
    const words = [];
    for (let i = 0; i < count; i++) {
      let word = random() < 0.0005 ? RARE[Math.floor(random() * RARE.length)] : random() < 0.01 ? String(Math.floor(random() * 2000)) : WORDS[Math.floor(random() * WORDS.length)];
      if (i === 0 || words[i - 1].endsWith('.')) word = word[0].toUpperCase() + word.slice(1);
      if (i === count - 1 || random() < 0.07) word += '.';
      words.push(word);
    }
    return words.join(' ');
  };
  const output = (count) => {
    if (random() >= 0.2 || count < 20) return sentence(count);
    const items = Math.min(10, Math.max(2, Math.round(count / 15)));
    return Array.from({ length: items }, (_, i) => `${i + 1}. ${sentence(Math.max(2, Math.round(count / items)))}`).join('\n');
  };
  return Array.from({ length: n }, () => ({
    instruction: sentence(logUniform(5, 40)),
    input: random() < 0.4 ? sentence(logUniform(3, 60)) : '',
    output: output(logUniform(10, 300)),
  }));
}

function writeConfig(dir, name, trainFile, maxLength) {
  const config = path.join(dir, name);
  const model = path.join(repoRoot, 'examples', 'tiny-llama');
  fs.writeFileSync(config, [`model_name_or_path: ${JSON.stringify(model)}`, `train_file: ${JSON.stringify(trainFile)}`, 'dataset_format: alpaca', `max_length: ${maxLength}`, ''].join('\n'));
  return config;
}

// ---------------------------------------------------------------------------------------------------
// Children: each prints one JSON line.

/** The kernel's high-water mark of this process's RSS (all threads), in MiB. */
function peakRssMiB() {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Number(hwm[1]) / 1024 : process.memoryUsage().rss / MiB;
}

/** This thread's nanoseconds waiting for a CPU (Linux), to tell our blocking from other processes' load. */
function runqueueWaitNs() {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]);
  } catch {
    return 0;
  }
}

async function childEditor({ client, worker, config, threads }) {
  const { TokenStatsJob } = require(client);
  let last = performance.now();
  let lastWait = runqueueWaitNs();
  let maxLag = 0;
  let maxBlocked = 0;
  let ticks = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    const wait = runqueueWaitNs();
    const lag = now - last - 10;
    maxLag = Math.max(maxLag, lag);
    maxBlocked = Math.max(maxBlocked, lag - (wait - lastWait) / 1e6);
    ticks += 1;
    last = now;
    lastWait = wait;
  }, 10);
  const rssBefore = process.memoryUsage.rss() / MiB;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  let firstProgress;
  const job = new TokenStatsJob(config, { threads, workerScript: worker, onProgress: () => (firstProgress ??= performance.now() - start) });
  const { stats } = await job.result;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(probe);
  await job.exited;
  return {
    threads,
    seconds,
    cpu_seconds: (cpu.user + cpu.system) / 1e6,
    first_progress_ms: firstProgress,
    rss_before_mib: rssBefore,
    peak_rss_mib: peakRssMiB(),
    max_timer_lag_ms: maxLag,
    max_blocked_ms: maxBlocked,
    probe_ticks: ticks,
    totals: { examples: stats.examples, tokens: stats.tokens, truncated_examples: stats.truncated_examples, trained_tokens: stats.trained_tokens },
  };
}

async function childRead({ lib, file }) {
  const { readRows } = require(lib);
  const rssBefore = process.memoryUsage.rss() / MiB;
  const start = performance.now();
  const rows = readRows(file);
  return { rows: rows.length, seconds: (performance.now() - start) / 1000, rss_before_mib: rssBefore, peak_rss_mib: peakRssMiB() };
}

/** Where the editor's encoding time goes, on the first `rows` training rows in this thread. */
async function childBreakdown({ lib, config, rows }) {
  const { prepareConfigTokens } = require(lib);
  const prepared = await prepareConfigTokens(config);
  const tok = prepared.tokenizer;
  const spent = { tokenize: 0, chat_template: 0 };
  const calls = { tokenize: 0, chat_template: 0 };
  let tokenizedChars = 0;
  const time = (name, fn) => (...args) => {
    const start = performance.now();
    try {
      return fn(...args);
    } finally {
      spent[name] += performance.now() - start;
      calls[name] += 1;
    }
  };
  // The encoder calls the tokenizer object's methods at each use, so replacing them times every call.
  const encode = tok.encode;
  tok.encode = time('tokenize', (text) => ((tokenizedChars += text.length), encode(text)));
  tok.render = time('chat_template', tok.render);
  const sample = prepared.rows.slice(0, rows);
  let tokens = 0;
  let chars = 0;
  const start = performance.now();
  for (const row of sample) {
    const example = prepared.encode(row);
    tokens += example.inputIds.length;
    chars += example.rendered.length;
  }
  const total = performance.now() - start;
  return {
    rows: sample.length,
    seconds: total / 1000,
    breakdown_seconds: { tokenize: spent.tokenize / 1000, chat_template: spent.chat_template / 1000, other: (total - spent.tokenize - spent.chat_template) / 1000 },
    calls,
    tokens,
    tokenized_chars_per_rendered_char: round(tokenizedChars / chars, 2),
  };
}

const CHILDREN = { editor: childEditor, read: childRead, breakdown: childBreakdown };

function spawnJson(command, args, what, env = process.env) {
  const run = spawnSync(command, args, { cwd: repoRoot, encoding: 'utf8', env, maxBuffer: 64 * MiB });
  if (run.status !== 0) throw new Error(`${what} failed (exit ${run.status}):\n${run.stderr.slice(-4000)}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1));
}

const child = (name, payload) => spawnJson(process.execPath, [fileURLToPath(import.meta.url), '--child', name, JSON.stringify(payload)], `node child ${name}`);
const pythonEnv = { ...process.env, PYTHONPATH: path.join(repoRoot, 'trainer'), HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' };
const trainer = (what, target) => spawnJson(python, [path.join(repoRoot, 'bench', 'data_scale_trainer.py'), what, target], `trainer ${what}`, pythonEnv);

async function buildBundles() {
  const esbuild = await import('esbuild');
  fs.mkdirSync(bundleDir, { recursive: true });
  const node = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning', loader: { '.json': 'json' }, external: runtimeLoaded };
  const lib = path.join(bundleDir, 'data-scale.cjs');
  const worker = path.join(bundleDir, 'insightWorker.js');
  await Promise.all([
    esbuild.build({
      ...node,
      stdin: {
        contents: [
          "export { TokenStatsJob } from './src/insight/tokenStatsWorker';",
          "export { readRows } from './src/insight/datasetRows';",
          "export { prepareConfigTokens } from './src/insight/configTokenStats';",
        ].join('\n'),
        resolveDir: repoRoot,
        loader: 'ts',
      },
      outfile: lib,
    }),
    esbuild.build({ ...node, entryPoints: [path.join(repoRoot, 'src', 'insight', 'insightWorker.ts')], outfile: worker }),
  ]);
  return { lib, worker };
}

// ---------------------------------------------------------------------------------------------------

const ratio = (mib, fileMiB) => round(mib / fileMiB, 2);
const fourTotals = (t) => JSON.stringify([t.examples, t.tokens, t.truncated_examples, t.trained_tokens]);

function readmeBlock(result) {
  const { dataset, editor, trainer: py, goals } = result;
  const single = editor.runs.find((r) => r.threads === 1) ?? editor.runs[0];
  const shares = (seconds) => {
    const total = Object.values(seconds).reduce((a, b) => a + b, 0);
    return Object.entries(seconds)
      .map(([k, s]) => `${k} ${round(s, 2)} s (${Math.round((s / total) * 100)}%)`)
      .join(', ');
  };
  const lines = [
    `Latest: \`bench/results/${path.basename(result.out)}\` — ${result.machine.cpus} CPUs (${result.machine.cpu_model}), load average ${result.machine.load_average_before.map((x) => x.toFixed(1)).join(' / ')} before; ${dataset.rows.toLocaleString('en-US')} rows, ${dataset.file_mib} MiB .json list, ${dataset.tokens.toLocaleString('en-US')} tokens (tiny-llama, byte-level), max_length ${dataset.max_length}.`,
    '',
    '| measurement | value | goal | met |',
    '|---|---|---|---|',
    ...editor.runs.map((r) => `| editor token statistics, ${r.threads} thread${r.threads > 1 ? 's' : ''} (worker): wall (CPU) | ${round(r.seconds, 2)} s (${round(r.cpu_seconds, 1)} s) | < 3 s | ${r.seconds < 3 ? 'yes' : 'no'} |`),
    `| editor: longest main-thread block during the count (timer lag) | ${round(Math.max(...editor.runs.map((r) => r.max_blocked_ms)), 1)} ms (${round(Math.max(...editor.runs.map((r) => r.max_timer_lag_ms)), 1)} ms) | < 50 ms | ${goals.event_loop_block_ok ? 'yes' : 'no'} |`,
    `| editor peak RSS beyond the same job on one row, over the file size (1 thread) | ${editor.data_memory_ratio} (${round(single.peak_rss_mib, 0)} MiB peak, ${round(editor.fixed_peak_rss_mib, 0)} MiB for one row${editor.runs.length > 1 ? `; ${editor.runs.filter((r) => r !== single).map((r) => `${round(r.peak_rss_mib, 0)} MiB with ${r.threads} threads`).join(', ')}` : ''}) | < 3 | ${editor.data_memory_ratio < 3 ? 'yes' : 'no'} |`,
    `| editor readRows alone: time, RSS growth over the file size | ${round(editor.read.seconds, 2)} s, ${editor.read.memory_ratio} | < 3 | ${editor.read.memory_ratio < 3 ? 'yes' : 'no'} |`,
    `| trainer read_rows alone: time, RSS growth over the file size | ${round(py.read.seconds, 2)} s, ${py.read.memory_ratio} | < 3 | ${py.read.memory_ratio < 3 ? 'yes' : 'no'} |`,
    `| trainer load_splits (read + template + tokenize + examples) | ${round(py.prepare.load_splits_seconds, 2)} s | < 10 s | ${py.prepare.load_splits_seconds < 10 ? 'yes' : 'no'} |`,
    `| trainer load_splits: RSS growth over the file size | ${py.prepare.memory_ratio} | < 3 | ${py.prepare.memory_ratio < 3 ? 'yes' : 'no'} |`,
    `| \`train CONFIG --dry-run --json\` end to end (peak RSS) | ${round(py.dry_run.seconds, 2)} s (${round(py.dry_run.peak_rss_mib, 0)} MiB) | < 10 s | ${py.dry_run.seconds < 10 ? 'yes' : 'no'} |`,
    '',
    `Where the trainer's load_splits spends its time: ${round(py.prepare.load_splits_cpu_seconds, 1)} CPU-seconds in ${round(py.prepare.load_splits_seconds, 2)} s, ${round(py.prepare.load_splits_main_thread_cpu_seconds, 1)} of them in its own thread, which read rows for ${round(py.prepare.breakdown_seconds.read_rows ?? 0, 2)} s and rendered chat templates for ${round(py.prepare.breakdown_seconds.chat_template ?? 0, 2)} s (${py.prepare.calls.chat_template ?? 0} batched apply_chat_template calls) while a helper thread tokenized for ${round(py.prepare.breakdown_seconds.tokenize ?? 0, 2)} s (the Rust tokenizer on the machine's cores).`,
    `Where the editor's encoding spends its time (${editor.breakdown.rows.toLocaleString('en-US')} rows, one thread, ${round(editor.breakdown.seconds, 2)} s): ${shares(editor.breakdown.breakdown_seconds)}; ${editor.breakdown.calls.tokenize} tokenizer calls over ${editor.breakdown.tokenized_chars_per_rendered_char}x the rendered text.`,
    `Editor and trainer totals ${result.totals_equal ? 'agree' : `DIFFER (editor ${fourTotals(single.totals)}, trainer ${fourTotals(py.prepare.totals)})`}.`,
  ];
  return lines.join('\n');
}

function writeReadme(block) {
  const readme = path.join(repoRoot, 'bench', 'README.md');
  const text = fs.readFileSync(readme, 'utf8');
  const begin = '<!-- data-scale:begin -->';
  const end = '<!-- data-scale:end -->';
  const at = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (at < 0 || stop < at) {
    log(`no ${begin} … ${end} block in bench/README.md; the table is above`);
    return;
  }
  fs.writeFileSync(readme, `${text.slice(0, at + begin.length)}\n\n${block}\n\n${text.slice(stop)}`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '52000' },
      threads: { type: 'string' },
      'max-length': { type: 'string', default: '2048' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  if (!fs.existsSync(python)) throw new Error(`${python} is missing: run \`npm run setup\` first`);
  const rows = Number(values.rows);
  const maxLength = Number(values['max-length']);
  const parallel = Math.max(1, Math.min(8, os.availableParallelism()));
  const threads = values.threads ? values.threads.split(',').map(Number) : [...new Set([1, parallel])];
  const date = new Date().toISOString().slice(0, 10);
  const out = path.resolve(values.out ?? path.join(repoRoot, 'bench', 'results', `data-scale-cpu-${date}.json`));
  const loadBefore = os.loadavg();

  log('bundling the token statistics client and worker from src/');
  const bundles = await buildBundles();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sft-studio-bench-data-'));
  try {
    const file = path.join(work, 'alpaca_data.json');
    fs.writeFileSync(file, JSON.stringify(alpacaRows(rows), null, 4));
    const fileMiB = fs.statSync(file).size / MiB;
    const config = writeConfig(work, 'alpaca.sft.yaml', file, maxLength);
    const one = path.join(work, 'one.json');
    fs.writeFileSync(one, JSON.stringify(alpacaRows(1), null, 4));
    const oneConfig = writeConfig(work, 'one.sft.yaml', one, maxLength);
    log(`${rows} rows, ${fileMiB.toFixed(1)} MiB in ${file}`);

    log('editor: readRows alone');
    const read = child('read', { lib: bundles.lib, file });
    const runs = [];
    for (const n of threads) {
      log(`editor: token statistics in the worker, ${n} thread(s)`);
      runs.push(child('editor', { client: bundles.lib, worker: bundles.worker, config, threads: n }));
    }
    // The memory of the data is the one-thread run's beyond the same job on one row (a row never gets a helper).
    const single = runs.find((r) => r.threads === 1) ?? runs[0];
    log('editor: the same job on a one-row file, for the fixed cost (transformers.js, the worker)');
    const fixed = child('editor', { client: bundles.lib, worker: bundles.worker, config: oneConfig, threads: 1 });
    log('editor: where encoding time goes (4,000 rows in one thread)');
    const breakdown = child('breakdown', { lib: bundles.lib, config, rows: 4000 });

    log('trainer: read_rows alone');
    const pyRead = trainer('read', file);
    log('trainer: load_splits');
    const prepare = trainer('prepare', config);
    log('trainer: train --dry-run --json');
    const dryRun = trainer('dry-run', config);

    const totalsEqual = runs.every((r) => fourTotals(r.totals) === fourTotals(prepare.totals)) && fourTotals(prepare.totals) === fourTotals(dryRun.totals);
    const result = {
      date,
      out: path.relative(repoRoot, out),
      machine: {
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model.replace(/\s+\d+-Core Processor$/, '').trim(),
        platform: `${process.platform}-${process.arch}`,
        node: process.version,
        load_average_before: loadBefore,
        load_average_after: os.loadavg(),
      },
      command: `node bench/data_scale.mjs --rows ${rows} --threads ${threads.join(',')} --max-length ${maxLength}`,
      dataset: { rows, file_mib: round(fileMiB, 1), max_length: maxLength, tokens: prepare.totals.tokens, tokens_per_row: round(prepare.totals.tokens / rows, 1) },
      editor: {
        runs,
        fixed_peak_rss_mib: fixed.peak_rss_mib,
        data_memory_ratio: ratio(single.peak_rss_mib - fixed.peak_rss_mib, fileMiB),
        breakdown,
        read: { ...read, memory_ratio: ratio(read.peak_rss_mib - read.rss_before_mib, fileMiB) },
      },
      trainer: {
        read: { ...pyRead, memory_ratio: ratio(pyRead.peak_rss_mib - pyRead.rss_before_mib, fileMiB) },
        prepare: { ...prepare, memory_ratio: ratio(prepare.peak_rss_mib - prepare.rss_after_setup_mib, fileMiB) },
        dry_run: dryRun,
      },
      totals_equal: totalsEqual,
    };
    result.goals = {
      editor_under_3_s: runs.some((r) => r.seconds < 3),
      event_loop_block_ok: runs.every((r) => r.max_blocked_ms < 50),
      trainer_under_10_s: prepare.load_splits_seconds < 10 && dryRun.seconds < 10,
      memory_under_3x: result.editor.data_memory_ratio < 3 && result.trainer.read.memory_ratio < 3 && result.trainer.prepare.memory_ratio < 3,
    };
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    const block = readmeBlock(result);
    process.stdout.write(`\n${block}\n\n`);
    if (!values.out) writeReadme(block);
    log(`wrote ${path.relative(repoRoot, out)}`);
  } finally {
    if (values.keep) log(`kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) {
  const name = process.argv[childIndex + 1];
  const payload = JSON.parse(process.argv[childIndex + 2]);
  CHILDREN[name](payload).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error) => {
      process.stderr.write(`${error.stack ?? error}\n`);
      process.exit(1);
    },
  );
} else {
  main().catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exit(1);
  });
}
