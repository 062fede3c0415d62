// Loads a model folder's tokenizer with transformers.js, offline: the editor never fetches from a hub.
// transformers.js is required lazily, so activation does not pay for it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChatTokenizer } from './conversationEncoder';
import type { ChatMessage } from './datasetRows';

type Transformers = typeof import('@huggingface/transformers');

let transformers: Transformers | undefined;

/** The transformers.js module, set to local-only loading from `modelDir`'s parent. */
export function offlineTransformers(modelDir: string): Transformers {
  transformers ??= require('@huggingface/transformers') as Transformers;
  transformers.env.allowRemoteModels = false;
  transformers.env.allowLocalModels = true;
  transformers.env.localModelPath = path.dirname(path.resolve(modelDir)) + path.sep;
  return transformers;
}

/**
 * Checkpoints saved by Python transformers keep the chat template in chat_template.jinja instead of
 * tokenizer_config.json, a file transformers.js does not read; the tokenizer takes it from there.
 */
export function adoptJinjaChatTemplate(tok: { chat_template: unknown }, dir: string): void {
  const file = path.join(dir, 'chat_template.jinja');
  if (!tok.chat_template && fs.existsSync(file)) tok.chat_template = fs.readFileSync(file, 'utf8');
}

export class TokenizerLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerLoadError';
  }
}

/** A ChatTokenizer plus what previews need: the text of single tokens and whole decodes. */
export interface LoadedTokenizer extends ChatTokenizer {
  readonly modelDir: string;
  tokenText(id: number): string;
  decode(ids: readonly number[], skipSpecialTokens: boolean): string;
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

export async function loadTokenizer(modelDir: string): Promise<LoadedTokenizer> {
  const dir = path.resolve(modelDir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new TokenizerLoadError(`${dir}: model folder not found; point \`model_name_or_path\` at a local model folder (relative to the config file)`);
  }
  const missing = TOKENIZER_FILES.filter((file) => !fs.existsSync(path.join(dir, file)));
  if (missing.length > 0) {
    throw new TokenizerLoadError(
      `${dir}: no ${missing.join(' or ')}; token insight needs a fast tokenizer (tokenizer.json) saved next to the model (tokenizer.save_pretrained(folder) in Python writes it)`,
    );
  }
  const { AutoTokenizer } = offlineTransformers(dir);
  let tok: Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;
  try {
    tok = await AutoTokenizer.from_pretrained(path.basename(dir), { local_files_only: true });
  } catch (error) {
    throw new TokenizerLoadError(`${dir}: transformers.js cannot load this tokenizer (${(error as Error).message}); only tokenizer.json tokenizers are supported`);
  }
  adoptJinjaChatTemplate(tok, dir);
  const eosToken = tok.eos_token ?? undefined;
  const eosTokenId = eosToken === undefined ? undefined : (tok.eos_token_id ?? tok.convert_tokens_to_ids(eosToken));
  return {
    modelDir: dir,
    hasChatTemplate: Boolean(tok.chat_template),
    eosToken,
    eosTokenId: typeof eosTokenId === 'number' ? eosTokenId : undefined,
    render: (messages: readonly ChatMessage[], addGenerationPrompt: boolean) =>
      tok.apply_chat_template(messages as ChatMessage[], {
        tokenize: false,
        add_generation_prompt: addGenerationPrompt,
        return_dict: false,
      }) as string,
    encode: (text: string) => tok.encode(text, { add_special_tokens: false }),
    tokenText: (id: number) => tok.decode([id], { skip_special_tokens: false }),
    decode: (ids: readonly number[], skipSpecialTokens: boolean) => tok.decode([...ids], { skip_special_tokens: skipSpecialTokens }),
  };
}
