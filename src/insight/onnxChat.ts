// Chat with a checkpoint in the extension host: transformers.js runs CHECKPOINT/onnx/model.onnx (written
// by `python -m sft_studio export-onnx CHECKPOINT`) on onnxruntime-node's CPU backend, with the
// checkpoint's own chat template and tokenizer, streaming text as tokens arrive.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChatMessage } from './datasetRows';
import { adoptJinjaChatTemplate, offlineTransformers } from './tokenizerLoader';

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

type Transformers = ReturnType<typeof offlineTransformers>;
type Model = Awaited<ReturnType<Transformers['AutoModelForCausalLM']['from_pretrained']>>;
type Tokenizer = Awaited<ReturnType<Transformers['AutoTokenizer']['from_pretrained']>>;

export class OnnxChatModel {
  private constructor(
    private readonly lib: Transformers,
    readonly checkpoint: string,
    private readonly model: Model,
    private readonly tokenizer: Tokenizer,
  ) {}

  static async load(checkpoint: string): Promise<OnnxChatModel> {
    const dir = path.resolve(checkpoint);
    if (!hasOnnxExport(dir)) throw new MissingExportError(dir);
    const lib = offlineTransformers(dir);
    const name = path.basename(dir);
    const [tokenizer, model] = await Promise.all([
      lib.AutoTokenizer.from_pretrained(name, { local_files_only: true }),
      lib.AutoModelForCausalLM.from_pretrained(name, { local_files_only: true, dtype: 'fp32', device: 'cpu' }),
    ]);
    adoptJinjaChatTemplate(tokenizer, dir);
    return new OnnxChatModel(lib, dir, model, tokenizer);
  }

  /** Generates the assistant's reply to `messages`; `onText` gets each decoded piece as it is ready. */
  async reply(messages: readonly ChatMessage[], sampling: Sampling, onText?: (piece: string) => void, signal?: AbortSignal): Promise<ChatReply> {
    const { TextStreamer, StoppingCriteria } = this.lib;
    const prompt = this.tokenizer.apply_chat_template(messages as ChatMessage[], {
      tokenize: false,
      add_generation_prompt: true,
      return_dict: false,
    }) as string;
    const inputs = this.tokenizer(prompt, { add_special_tokens: false });
    const started = performance.now();
    const tokenTimes: number[] = [];
    const streamer = new TextStreamer(this.tokenizer, {
      skip_prompt: true,
      skip_special_tokens: true,
      callback_function: (piece: string) => onText?.(piece),
      token_callback_function: () => tokenTimes.push(performance.now()),
    });
    class Aborted extends StoppingCriteria {
      _call(inputIds: number[][]): boolean[] {
        return inputIds.map(() => signal?.aborted ?? false);
      }
    }
    const greedy = sampling.temperature <= 0;
    const output = (await this.model.generate({
      ...inputs,
      max_new_tokens: sampling.maxNewTokens,
      do_sample: !greedy,
      ...(greedy ? {} : { temperature: sampling.temperature, top_p: sampling.topP, top_k: sampling.topK }),
      streamer,
      stopping_criteria: [new Aborted()],
    })) as { tolist(): bigint[][] };
    const promptLength = (inputs.input_ids as { dims: number[] }).dims[1];
    const eos = this.tokenizer.eos_token_id;
    const generated = output.tolist()[0].slice(promptLength).map(Number);
    const end = generated.indexOf(eos);
    const tokenIds = end === -1 ? generated : generated.slice(0, end);
    const first = tokenTimes[0] ?? performance.now();
    const last = tokenTimes.at(-1) ?? first;
    return {
      text: this.tokenizer.decode(tokenIds, { skip_special_tokens: true }),
      tokenIds,
      firstTokenMs: first - started,
      tokensPerSecond: tokenTimes.length > 1 ? ((tokenTimes.length - 1) * 1000) / (last - first) : 0,
    };
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
