// Loads a model folder's tokenizer with transformers.js, offline: the editor never fetches from a hub.
// A Hub model (model_name_or_path: org/name) is read from the Hugging Face cache the trainer fills.
// The files are read here, by the folder's own path, and the tokenizer is built from their contents:
// transformers.js' loader resolves names against a process-wide `env.localModelPath`, so two loads at
// once (two chat panels on run1/…/step-600 and run2/…/step-600) would read each other's files.
// transformers.js is required lazily, so activation does not pay for it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cachedSnapshot, hubCacheDir, isDirectory, modelKind } from '../config/modelSource';
import { DEFAULT_TEMPLATE, templateText, withoutGenerationTags } from './chatTemplates';
import type { AddedTokenInfo, ChatTokenizer, TemplateMessage } from './conversationEncoder';

type Transformers = typeof import('@huggingface/transformers');
/** A transformers.js tokenizer as this project uses it. */
export type RawTokenizer = InstanceType<Transformers['PreTrainedTokenizer']>;
type TokenizerClass = new (tokenizerJSON: object, tokenizerConfig: object) => RawTokenizer;

let transformers: Transformers | undefined;

function transformersLib(): Transformers {
  return (transformers ??= require('@huggingface/transformers') as Transformers);
}

export class TokenizerLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerLoadError';
  }
}

/** How long a tokenizer may work on one piece of text before its worker is stopped. */
export const TOKENIZER_TIMEOUT_MS = 30_000;

/**
 * A tokenizer that ran past the time limit on some text, its worker stopped. A tokenizer.json can carry
 * any regular expression (pre-tokenizer Split, normalizer Replace), and one that backtracks
 * catastrophically runs for ever on the wrong input.
 */
export class TokenizerTimeoutError extends TokenizerLoadError {
  constructor(tokenizerFile: string, limitMs: number, doing: string) {
    super(
      `${tokenizerFile}: the tokenizer ran for over ${limitMs / 1000} s ${doing} and was stopped; a regular expression in its pre_tokenizer or normalizer probably backtracks without end on this text. Replace this tokenizer.json with the one the model was published with (or write it again with tokenizer.save_pretrained in Python), then try again.`,
    );
    this.name = 'TokenizerTimeoutError';
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

async function readJson(file: string): Promise<object> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (error) {
    throw new TokenizerLoadError(`${file}: cannot be read as JSON (${(error as Error).message}); save the tokenizer again (tokenizer.save_pretrained(folder) in Python)`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TokenizerLoadError(`${file}: not a JSON object; save the tokenizer again (tokenizer.save_pretrained(folder) in Python)`);
  return parsed;
}

const SPECIAL_TOKEN_FIELDS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token'] as const;

const kindOf = (value: unknown): string => (Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`);

/**
 * Fields of tokenizer_config.json that transformers.js takes on trust: a special token that is not text
 * (or an added-token object with text `content`) or a chat template that is neither text nor a list of
 * named templates would fail much later, at the first encode or render, with an error that names no file.
 */
function checkTokenizerConfig(file: string, config: Record<string, unknown>): void {
  const fix = 'fix the field or save the tokenizer again (tokenizer.save_pretrained(folder) in Python)';
  for (const field of SPECIAL_TOKEN_FIELDS) {
    const value = config[field];
    const isAddedToken = typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { content?: unknown }).content === 'string';
    if (value === undefined || value === null || typeof value === 'string' || isAddedToken) continue;
    throw new TokenizerLoadError(`${file}: \`${field}\` is ${kindOf(value)} (${JSON.stringify(value).slice(0, 40)}); it must be the token's text, e.g. "</s>"; ${fix}`);
  }
  const template = config.chat_template;
  const isNamedList =
    Array.isArray(template) && template.every((t) => typeof t === 'object' && t !== null && typeof t.name === 'string' && typeof t.template === 'string');
  if (template !== undefined && template !== null && typeof template !== 'string' && !isNamedList) {
    throw new TokenizerLoadError(`${file}: \`chat_template\` is ${kindOf(template)}; it must be Jinja text (or a list of {name, template}); ${fix}`);
  }
}

/**
 * Checkpoints saved by Python transformers keep the chat template in chat_template.jinja instead of
 * tokenizer_config.json; the tokenizer takes it from there.
 */
function adoptJinjaChatTemplate(tok: RawTokenizer, dir: string): void {
  const file = path.join(dir, 'chat_template.jinja');
  if (!tok.chat_template && fs.existsSync(file)) tok.chat_template = fs.readFileSync(file, 'utf8');
}

/** The class tokenizer_config.json names (a "Fast" suffix dropped), else the base class: AutoTokenizer's choice. */
function tokenizerClass(lib: Transformers, config: { tokenizer_class?: unknown }): TokenizerClass {
  const name = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
  const named = (lib as unknown as Record<string, unknown>)[name];
  const isTokenizer = typeof named === 'function' && (named === lib.PreTrainedTokenizer || named.prototype instanceof lib.PreTrainedTokenizer);
  return (isTokenizer ? named : lib.PreTrainedTokenizer) as TokenizerClass;
}

/**
 * The transformers.js tokenizer of the folder `modelDir`, built from that folder's tokenizer.json and
 * tokenizer_config.json (and chat_template.jinja when the config holds no template).
 */
export async function openTokenizer(modelDir: string): Promise<RawTokenizer> {
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
  const [tokenizerJSON, tokenizerConfig] = await Promise.all(TOKENIZER_FILES.map((file) => readJson(path.join(dir, file))));
  checkTokenizerConfig(path.join(dir, 'tokenizer_config.json'), tokenizerConfig as Record<string, unknown>);
  const lib = transformersLib();
  let tok: RawTokenizer;
  try {
    tok = new (tokenizerClass(lib, tokenizerConfig))(tokenizerJSON, tokenizerConfig);
  } catch (error) {
    throw new TokenizerLoadError(`${path.join(dir, 'tokenizer.json')}: transformers.js cannot build this tokenizer (${(error as Error).message}); only tokenizer.json tokenizers are supported`);
  }
  adoptJinjaChatTemplate(tok, dir);
  return tok;
}

export async function loadTokenizer(modelDir: string, options: TemplateOptions = {}): Promise<LoadedTokenizer> {
  const dir = path.resolve(modelDir);
  const tok = await openTokenizer(dir);
  if (options.chatTemplate) tok.chat_template = options.chatTemplate;
  else if (!tok.chat_template) tok.chat_template = templateText(DEFAULT_TEMPLATE, dir);
  if (typeof tok.chat_template === 'string') tok.chat_template = withoutGenerationTags(tok.chat_template);
  const addedTokens: AddedTokenInfo[] = (tok._tokenizerJSON as { added_tokens?: AddedTokenInfo[] }).added_tokens ?? [];
  const kwargs = options.templateKwargs ?? {};
  const eosToken = tok.eos_token ?? undefined;
  const eosTokenId = eosToken === undefined ? undefined : (tok.eos_token_id ?? tok.convert_tokens_to_ids(eosToken));
  return {
    modelDir: dir,
    hasChatTemplate: Boolean(tok.chat_template),
    eosToken,
    eosTokenId: typeof eosTokenId === 'number' ? eosTokenId : undefined,
    addedTokenIds: new Set(addedTokens.map((t) => t.id)),
    addedTokens,
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
