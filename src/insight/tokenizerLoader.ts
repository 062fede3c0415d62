// Loads a model folder's tokenizer with transformers.js, offline: the editor never fetches from a hub.
// A Hub model (model_name_or_path: org/name) is read from the Hugging Face cache the trainer fills.
// transformers.js is required lazily, so activation does not pay for it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cachedSnapshot, hubCacheDir, isDirectory, modelKind } from '../config/modelSource';
import { DEFAULT_TEMPLATE, templateText, withoutGenerationTags } from './chatTemplates';
import type { ChatTokenizer, TemplateMessage } from './conversationEncoder';

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

/**
 * The folder a config's tokenizer is read from: the model folder (relative to the config's folder), or for a
 * Hub id its snapshot in the Hugging Face cache at `revision` (a commit, or a branch/tag through refs/).
 * A Hub model not in the cache is an error naming the two ways to fetch it; nothing is downloaded here.
 */
export function resolveModelDir(value: string, configDir: string, revision = 'main', env: NodeJS.ProcessEnv = process.env): string {
  if (modelKind(value, configDir, isDirectory) !== 'hub') return path.resolve(configDir, value);
  const cacheDir = hubCacheDir(env);
  const snapshot = cachedSnapshot(value, revision, cacheDir);
  if (snapshot.folder) return snapshot.folder;
  const download = `python -m sft_studio download ${value}${revision === 'main' ? '' : ` --revision ${revision}`}`;
  throw new TokenizerLoadError(
    `${value}: this Hub model (revision ${revision}) is not in the Hugging Face cache (${cacheDir}) yet; token insight reads it from there and never downloads. Start a run of this config, or run \`${download}\`, then look again.`,
  );
}

/** A ChatTokenizer plus what previews need: the text of single tokens and whole decodes. */
export interface LoadedTokenizer extends ChatTokenizer {
  readonly modelDir: string;
  tokenText(id: number): string;
  decode(ids: readonly number[], skipSpecialTokens: boolean): string;
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

export interface TemplateOptions {
  /** Jinja source replacing the tokenizer's template (the config's `chat_template`, resolved). */
  chatTemplate?: string;
  /** The config's `chat_template_kwargs`, passed to every render. */
  templateKwargs?: Record<string, unknown>;
}

export async function loadTokenizer(modelDir: string, options: TemplateOptions = {}): Promise<LoadedTokenizer> {
  const dir = path.resolve(modelDir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new TokenizerLoadError(`${dir}: model folder not found; point \`model_name_or_path\` at a local model folder (relative to the config file) or a Hub id (org/name)`);
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
  if (options.chatTemplate) tok.chat_template = options.chatTemplate;
  else if (!tok.chat_template) tok.chat_template = templateText(DEFAULT_TEMPLATE, dir);
  if (typeof tok.chat_template === 'string') tok.chat_template = withoutGenerationTags(tok.chat_template);
  const addedTokens = ((tok as unknown as { _tokenizerJSON?: { added_tokens?: { id: number }[] } })._tokenizerJSON?.added_tokens ?? []);
  const kwargs = options.templateKwargs ?? {};
  const eosToken = tok.eos_token ?? undefined;
  const eosTokenId = eosToken === undefined ? undefined : (tok.eos_token_id ?? tok.convert_tokens_to_ids(eosToken));
  return {
    modelDir: dir,
    hasChatTemplate: Boolean(tok.chat_template),
    eosToken,
    eosTokenId: typeof eosTokenId === 'number' ? eosTokenId : undefined,
    addedTokenIds: new Set(addedTokens.map((t) => t.id)),
    render: (messages: readonly TemplateMessage[], addGenerationPrompt: boolean, tools?: readonly unknown[]) =>
      tok.apply_chat_template(messages as unknown as Parameters<typeof tok.apply_chat_template>[0], {
        ...kwargs,
        ...(tools && tools.length > 0 ? { tools: tools as object[] } : {}),
        tokenize: false,
        add_generation_prompt: addGenerationPrompt,
        return_dict: false,
      }) as string,
    encode: (text: string) => tok.encode(text, { add_special_tokens: false }),
    tokenText: (id: number) => tok.decode([id], { skip_special_tokens: false }),
    decode: (ids: readonly number[], skipSpecialTokens: boolean) => tok.decode([...ids], { skip_special_tokens: skipSpecialTokens }),
  };
}
