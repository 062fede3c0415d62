// The token statistics worker (bundled as dist/insightWorker.js): reads a config's training set, loads
// transformers.js and counts, off the extension host's thread. Large sets are split into contiguous
// shards encoded by helper threads (this same script in `shard` mode) while this thread encodes the
// first; the per-example tables are joined in training order and the first failing row, in training
// order, is the error, as when one thread encodes everything. With `keep`, the worker stays alive after
// counting and encodes single examples for the label-mask preview.
import { parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { Row } from './datasetRows';
import { examplePreview } from './examplePreview';
import { encodeExampleAt, prepareConfigTokens, tokenizerFor, type PreparedTokens } from './configTokenStats';
import { countRows, emptyTable, exampleEncoder, summarizeTable, type ExampleTable } from './tokenStats';
import { fromWire, toWire, transferList, type CountJob, type CountReply, type CountRequest, type ShardJob, type ShardReply, type ShardRows } from './workerMessages';

/** Below this many rows per thread a helper costs more (its own transformers.js load) than it saves. */
const MIN_ROWS_PER_THREAD = 2000;
/** Progress reaches the host at most this often. */
const PROGRESS_MS = 100;

function post(port: MessagePort, message: CountReply | ShardReply, transfer: ArrayBuffer[] = []): void {
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

async function countInShards(prepared: PreparedTokens, threads: number, port: MessagePort): Promise<ExampleTable> {
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
  const helpers = Array.from({ length: parts - 1 }, (_, k) => new Helper({ mode: 'shard', config }, rows.slice((k + 1) * size, (k + 2) * size), progress));
  try {
    const own = await countRows(rows.slice(0, size), prepared.encode, { onProgress: (done) => ((ownDone = done), progress()) });
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
    const table = await countInShards(prepared, job.threads, port);
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
    const encode = exampleEncoder(job.config, await tokenizerFor(job.config));
    const sources = job.config.trainFiles;
    const rows = (await received).rows.map(([where, data, source]) => new Row(where, data, sources[source]?.columnMapping ?? job.config.columnMapping, source));
    const table = await countRows(rows, encode, { onProgress: (done) => post(port, { type: 'progress', done }) });
    post(port, { type: 'done', table }, transferList(table));
  } catch (error) {
    post(port, { type: 'failed', error: toWire(error) });
  }
  port.close();
}

if (parentPort) {
  const job = workerData as CountJob | ShardJob;
  void (job.mode === 'count' ? count(job, parentPort) : shard(job, parentPort));
}
