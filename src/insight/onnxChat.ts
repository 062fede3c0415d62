// Chat with a checkpoint: onnxruntime-node runs CHECKPOINT/onnx/model.onnx (written by `python -m
// sft_studio export-onnx CHECKPOINT`) on the CPU, with the checkpoint's own tokenizer and chat template,
// streaming text as tokens arrive. Everything is opened by the checkpoint's absolute path (the session
// from the model file, the tokenizer from its files), never through a process-wide model folder, so two
// checkpoints of the same name (run1/…/step-600, run2/…/step-600) open at once stay apart. The chat
// panel runs this in a worker thread (chatWorker.ts); onnxruntime-node is required on first load.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChatMessage } from './datasetRows';
import { chooseToken } from './tokenSampling';
import { openTokenizer, type RawTokenizer } from './tokenizerLoader';

export const ONNX_MODEL_RELATIVE = path.join('onnx', 'model.onnx');

export interface Sampling {
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  /** 0 = off. */
  topK: number;
}

export interface ChatReply {
  /** The new text without special tokens, cut at end-of-sequence. */
  text: string;
  tokenIds: number[];
  /** Milliseconds from the call to the first new token. */
  firstTokenMs: number;
  /** New tokens per second after the first one (0 when only one token came). */
  tokensPerSecond: number;
}

/** No ONNX export next to the checkpoint; the message says how to make one. */
export class MissingExportError extends Error {
  constructor(readonly checkpoint: string) {
    super(`${checkpoint} has no ${ONNX_MODEL_RELATIVE}; run \`python -m sft_studio export-onnx ${checkpoint}\` first`);
    this.name = 'MissingExportError';
  }
}

export function hasOnnxExport(checkpoint: string): boolean {
  return fs.existsSync(path.join(checkpoint, ONNX_MODEL_RELATIVE));
}

type Ort = typeof import('onnxruntime-node');
type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;
type Tensor = InstanceType<Ort['Tensor']>;

/** The ids that end a reply: the tokenizer's EOS and every eos_token_id of config.json and generation_config.json. */
function stopTokenIds(dir: string, tokenizer: RawTokenizer): Set<number> {
  const ids = new Set<number>();
  const add = (value: unknown) => {
    for (const id of Array.isArray(value) ? value : [value]) if (Number.isSafeInteger(id)) ids.add(id as number);
  };
  add(tokenizer.eos_token_id);
  for (const file of ['config.json', 'generation_config.json']) {
    try {
      add((JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { eos_token_id?: unknown }).eos_token_id);
    } catch {
      // A missing or unreadable file adds nothing; the tokenizer's EOS still ends the reply.
    }
  }
  return ids;
}

/** The exporter's cache inputs: past_key_values.{i}.key|value, (batch, kv_heads, past_len, head_dim). */
function pastInputs(session: Session, checkpoint: string): { name: string; type: Tensor['type']; heads: number; headDim: number }[] {
  return session.inputMetadata
    .filter((input) => input.name.startsWith('past_key_values.'))
    .map((input) => {
      const shape = input.isTensor ? input.shape : [];
      if (!input.isTensor || typeof shape[1] !== 'number' || typeof shape[3] !== 'number') {
        throw new Error(`${path.join(checkpoint, ONNX_MODEL_RELATIVE)}: input ${input.name} is not a (batch, heads, length, head_dim) tensor; export the checkpoint again with \`python -m sft_studio export-onnx ${checkpoint}\``);
      }
      return { name: input.name, type: input.type, heads: shape[1], headDim: shape[3] };
    });
}

/**
 * The streamed text: each new token's ids decoded with those before it on the same line, and what that
 * adds to the text already sent. Text ending in U+FFFD (a character whose bytes have not all come) or
 * rewriting what was sent waits for the next token; a finished line starts afresh, so a long reply costs
 * one decode of the current line per token, not of everything.
 */
class TextStream {
  private ids: number[] = [];
  private sent = '';

  constructor(
    private readonly decode: (ids: readonly number[]) => string,
    private readonly onText?: (piece: string) => void,
  ) {}

  push(id: number): void {
    this.ids.push(id);
    const text = this.decode(this.ids);
    if (text.endsWith('\uFFFD') || !text.startsWith(this.sent)) return;
    this.send(text);
    if (text.endsWith('\n')) {
      this.ids = [];
      this.sent = '';
    }
  }

  end(): void {
    if (this.ids.length > 0) this.send(this.decode(this.ids));
  }

  private send(text: string): void {
    const piece = text.startsWith(this.sent) ? text.slice(this.sent.length) : '';
    this.sent = text;
    if (piece) this.onText?.(piece);
  }
}

export class OnnxChatModel {
  private constructor(
    private readonly ort: Ort,
    readonly checkpoint: string,
    private readonly session: Session,
    private readonly tokenizer: RawTokenizer,
    private readonly stopIds: ReadonlySet<number>,
  ) {}

  static async load(checkpoint: string): Promise<OnnxChatModel> {
    const dir = path.resolve(checkpoint);
    if (!hasOnnxExport(dir)) throw new MissingExportError(dir);
    const ort = require('onnxruntime-node') as Ort;
    const [tokenizer, session] = await Promise.all([openTokenizer(dir), ort.InferenceSession.create(path.join(dir, ONNX_MODEL_RELATIVE))]);
    return new OnnxChatModel(ort, dir, session, tokenizer, stopTokenIds(dir, tokenizer));
  }

  /** The conversation rendered by the chat template with the generation prompt, as token ids. */
  encodePrompt(messages: readonly ChatMessage[]): number[] {
    const prompt = this.tokenizer.apply_chat_template(messages as ChatMessage[], { tokenize: false, add_generation_prompt: true, return_dict: false }) as string;
    return this.tokenizer.encode(prompt, { add_special_tokens: false });
  }

  /** Generates the assistant's reply to `messages`; `onText` gets each decoded piece as it is ready. */
  async reply(messages: readonly ChatMessage[], sampling: Sampling, onText?: (piece: string) => void, signal?: AbortSignal): Promise<ChatReply> {
    const started = performance.now();
    return this.generate(this.encodePrompt(messages), sampling, started, onText, signal);
  }

  /** One forward pass per new token, the key/value cache carried from each pass to the next. */
  async generate(promptIds: readonly number[], sampling: Sampling, started: number, onText?: (piece: string) => void, signal?: AbortSignal): Promise<ChatReply> {
    const { Tensor } = this.ort;
    const int64 = (values: readonly number[]) => new Tensor('int64', BigInt64Array.from(values, BigInt), [1, values.length]);
    let past: Record<string, Tensor> = {};
    for (const input of pastInputs(this.session, this.checkpoint)) past[input.name] = new Tensor(input.type, [], [1, input.heads, 0, input.headDim]);
    const stream = new TextStream((ids) => this.decode(ids), onText);
    const tokenIds: number[] = [];
    const tokenTimes: number[] = [];
    let step = [...promptIds];
    let length = 0;
    for (let n = 0; n < sampling.maxNewTokens && !signal?.aborted; n++) {
      const positions = Array.from(step, (_, i) => length + i);
      length += step.length;
      const out = await this.session.run({
        input_ids: int64(step),
        attention_mask: int64(new Array<number>(length).fill(1)),
        position_ids: int64(positions),
        ...past,
      });
      const logits = out.logits;
      if (logits.type !== 'float32') throw new Error(`${path.join(this.checkpoint, ONNX_MODEL_RELATIVE)}: logits are ${logits.type}, not float32; export the checkpoint again`);
      const vocab = logits.dims[2];
      const last = (logits.data as Float32Array).subarray((step.length - 1) * vocab, step.length * vocab);
      const next = chooseToken(last, sampling);
      past = Object.fromEntries(Object.keys(past).map((name) => [name, out[name.replace('past_key_values.', 'present.')]]));
      if (this.stopIds.has(next)) break;
      tokenIds.push(next);
      tokenTimes.push(performance.now());
      stream.push(next);
      step = [next];
    }
    stream.end();
    const text = this.decode(tokenIds);
    const first = tokenTimes[0] ?? performance.now();
    const lastTime = tokenTimes.at(-1) ?? first;
    return {
      text,
      tokenIds,
      firstTokenMs: first - started,
      tokensPerSecond: tokenTimes.length > 1 ? ((tokenTimes.length - 1) * 1000) / (lastTime - first) : 0,
    };
  }

  private decode(ids: readonly number[]): string {
    // A reply whose first token ends it is empty; the tokenizer refuses to decode no ids.
    return ids.length === 0 ? '' : this.tokenizer.decode([...ids], { skip_special_tokens: true });
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
