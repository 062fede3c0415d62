// The insight worker (bundled as dist/insightWorker.js): every use of a model's tokenizer happens here,
// off the extension host's thread, because a tokenizer.json can hold a regular expression that never
// finishes; the host stops a worker that goes silent (tokenStatsWorker.ts, chatWorker.ts).
// `count` reads a config's training set, loads transformers.js and counts. Large sets are split into
// contiguous shards encoded by helper threads (this same script in `shard` mode) while this thread encodes
// the first; the per-example tables are joined in training order and the first failing row, in training
// order, is the error, as when one thread encodes everything. With `keep`, the worker stays alive after
// counting and encodes single examples for the label-mask preview.
// `chat` loads one checkpoint's ONNX export and answers the chat panel.
import * as path from 'node:path';
import { parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { Row } from './datasetRows';
import { examplePreview } from './examplePreview';
import { encodeExampleAt, prepareConfigTokens, tokenizerFor, type PreparedTokens } from './configTokenStats';
import { OnnxChatModel } from './onnxChat';
import { countRows, emptyTable, exampleEncoder, summarizeTable, type ExampleTable } from './tokenStats';
import {
  beating,
  fromWire,
  toWire,
  transferList,
  type ChatEvent,
  type ChatJob,
  type ChatRequest,
  type CountJob,
  type CountReply,
  type CountRequest,
  type ShardJob,
  type ShardReply,
  type ShardRows,
} from './workerMessages';

/** Below this many rows per thread a helper costs more (its own transformers.js load) than it saves. */
const MIN_ROWS_PER_THREAD = 2000;
/** Progress reaches the host at most this often. */
const PROGRESS_MS = 100;

function post(port: MessagePort, message: CountReply | ShardReply | ChatEvent, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/** A helper thread encoding one shard; settles with its table or its first failing row. */
class Helper {
  private readonly worker: Worker;
  done = 0;
  readonly result: Promise<ShardReply & { type: 'done' | 'failed' }>;

  constructor(job: ShardJob, rows: readonly Row[], onProgress: () => void) {
    this.worker = new Worker(__filename, { workerData: job });
    this.result = new Promise((resolve, reject) => {
      this.worker.on('message', (message: ShardReply) => {
        if (message.type === 'progress') {
          this.done = message.done;
          onProgress();
        } else resolve(message);
      });
      this.worker.on('error', reject);
      this.worker.on('exit', (code) => reject(new Error(`a token statistics helper thread stopped (exit code ${code})`)));
    });
    // Awaited only once the shards before it are in; a failure meanwhile must not count as unhandled.
    this.result.catch(() => undefined);
    const shard: ShardRows = { rows: rows.map((row) => [row.where, row.data, row.source]) };
    this.worker.postMessage(shard);
  }

  stop(): void {
    void this.worker.terminate();
  }
}

function joinTables(parts: readonly ExampleTable[]): ExampleTable {
  const table = emptyTable(parts.reduce((n, part) => n + part.lengths.length, 0));
  let at = 0;
  for (const part of parts) {
    table.lengths.set(part.lengths, at);
    table.trained.set(part.trained, at);
    table.truncated.set(part.truncated, at);
    table.lines.set(part.lines, at);
    table.dropped.set(part.dropped, at);
    table.firstDropped ??= part.firstDropped;
    at += part.lengths.length;
  }
  return table;
}

async function countInShards(prepared: PreparedTokens, threads: number, beat: Int32Array, port: MessagePort): Promise<ExampleTable> {
  const { rows, config } = prepared;
  const parts = Math.max(1, Math.min(threads, Math.floor(rows.length / MIN_ROWS_PER_THREAD)));
  const size = Math.ceil(rows.length / parts);
  let ownDone = 0;
  let lastPost = 0;
  const progress = (force = false) => {
    const now = Date.now();
    if (!force && now - lastPost < PROGRESS_MS) return;
    lastPost = now;
    post(port, { type: 'progress', done: ownDone + helpers.reduce((n, h) => n + h.done, 0), total: rows.length });
  };
  const helpers = Array.from({ length: parts - 1 }, (_, k) => new Helper({ mode: 'shard', config, beat }, rows.slice((k + 1) * size, (k + 2) * size), progress));
  try {
    const own = await countRows(rows.slice(0, size), beating(prepared.encode, beat), { onProgress: (done) => ((ownDone = done), progress()) });
    const tables = [own];
    for (const helper of helpers) {
      const reply = await helper.result;
      if (reply.type === 'failed') throw fromWire(reply.error);
      tables.push(reply.table);
    }
    progress(true);
    return joinTables(tables);
  } finally {
    for (const helper of helpers) helper.stop();
  }
}

async function count(job: CountJob, port: MessagePort): Promise<void> {
  let prepared: PreparedTokens;
  try {
    prepared = await prepareConfigTokens(job.configPath);
    post(port, { type: 'encoding', tokenizerFile: path.join(prepared.tokenizer.modelDir, 'tokenizer.json') });
    const table = await countInShards(prepared, job.threads, job.beat, port);
    const stats = summarizeTable(table, prepared.config.maxLength, prepared.config.perDeviceTrainBatchSize);
    post(port, { type: 'done', stats, table }, transferList(table));
  } catch (error) {
    post(port, { type: 'failed', error: toWire(error) });
    port.close();
    return;
  }
  if (!job.keep) {
    port.close();
    return;
  }
  port.on('message', (request: CountRequest) => {
    try {
      const preview = examplePreview(request.index, encodeExampleAt(prepared, request.index), prepared.tokenizer.tokenText);
      post(port, { type: 'example', seq: request.seq, preview });
    } catch (error) {
      post(port, { type: 'example', seq: request.seq, error: toWire(error) });
    }
  });
}

async function shard(job: ShardJob, port: MessagePort): Promise<void> {
  const received = new Promise<ShardRows>((resolve) => port.once('message', resolve));
  try {
    const encode = beating(exampleEncoder(job.config, await tokenizerFor(job.config)), job.beat);
    const sources = job.config.trainFiles;
    const rows = (await received).rows.map(([where, data, source]) => new Row(where, data, sources[source]?.columnMapping ?? job.config.columnMapping, source));
    const table = await countRows(rows, encode, { onProgress: (done) => post(port, { type: 'progress', done }) });
    post(port, { type: 'done', table }, transferList(table));
  } catch (error) {
    post(port, { type: 'failed', error: toWire(error) });
  }
  port.close();
}

async function chat(job: ChatJob, port: MessagePort): Promise<void> {
  let model: OnnxChatModel;
  try {
    model = await OnnxChatModel.load(job.checkpoint);
  } catch (error) {
    post(port, { type: 'loadFailed', error: toWire(error) });
    port.close();
    return;
  }
  post(port, { type: 'loaded' });
  const aborts = new Map<number, AbortController>();
  const answer = async ({ seq, messages, sampling }: Extract<ChatRequest, { type: 'reply' }>) => {
    const abort = new AbortController();
    aborts.set(seq, abort);
    try {
      const started = performance.now();
      const promptIds = model.encodePrompt(messages);
      post(port, { type: 'encoded', seq });
      const reply = await model.generate(promptIds, sampling, started, (piece) => post(port, { type: 'piece', seq, piece }), abort.signal);
      post(port, { type: 'replied', seq, reply });
    } catch (error) {
      post(port, { type: 'replyFailed', seq, error: toWire(error) });
    } finally {
      aborts.delete(seq);
    }
  };
  port.on('message', (request: ChatRequest) => {
    if (request.type === 'stop') aborts.get(request.seq)?.abort();
    else void answer(request);
  });
}

if (parentPort) {
  const job = workerData as CountJob | ShardJob | ChatJob;
  void (job.mode === 'count' ? count(job, parentPort) : job.mode === 'shard' ? shard(job, parentPort) : chat(job, parentPort));
}
