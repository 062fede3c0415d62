// Judge through any OpenAI-compatible chat-completions endpoint (OpenAI, Azure-style proxies, vLLM,
// llama.cpp, Ollama …). Preferred: a forced `make_choice` tool call. Servers that refuse tools get
// structured output (response_format json_schema), and those that refuse that get plain JSON in the
// message content. The mode that worked is kept for the following calls.
import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
} from 'openai/resources/chat/completions';
import {
  CHOICE_SCHEMA,
  DEFAULT_MAX_OUTPUT_TOKENS,
  estimateAttempt,
  estimateTokens,
  MAKE_CHOICE,
  MAKE_CHOICE_DESCRIPTION,
  parseChoiceArguments,
  parseChoiceText,
  SYSTEM_FOR_JSON,
  SYSTEM_FOR_TOOLS,
  type ParsedChoice,
} from './choice';
import { JudgeCallError } from './errors';
import { redactText, redactUrl } from './redact';
import { retryAfterMs } from './retry';
import type { JudgeProvider, JudgeRequest, JudgeVerdict, TokenUsage } from './types';

export type OpenAiReplyMode = 'tools' | 'json_schema' | 'json';
const MODES: readonly OpenAiReplyMode[] = ['tools', 'json_schema', 'json'];

export interface OpenAiJudgeOptions {
  /** e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1 */
  baseURL: string;
  model: string;
  /**
   * Passed in by the caller (SecretStorage in the extension, OPENAI_API_KEY in the CLI). Local
   * servers that need none may leave it out.
   */
  apiKey?: string;
  /** Sampling temperature; 0 by default so the judge is as repeatable as the server allows. Null omits it. */
  temperature?: number | null;
  /** Mode to try first; later modes are fallbacks. */
  mode?: OpenAiReplyMode;
  /** The reply's token limit, sent with every request (default DEFAULT_MAX_OUTPUT_TOKENS). */
  maxOutputTokens?: number;
}

/**
 * `max_tokens` is what OpenAI-compatible servers (vLLM, llama.cpp, Ollama, proxies) understand;
 * OpenAI's reasoning models refuse it and take `max_completion_tokens`, which they say in the 400.
 */
type TokenLimitField = 'max_tokens' | 'max_completion_tokens';

/** Schema and instructions sent besides the prompt, for the estimate of what a request costs. */
const REQUEST_OVERHEAD_TEXT = `${SYSTEM_FOR_TOOLS}${MAKE_CHOICE_DESCRIPTION}${JSON.stringify(CHOICE_SCHEMA)}`;

/** Sent when no key is configured; local servers ignore it, hosted ones answer 401 (a clear fatal error). */
const NO_KEY = 'no-key';

export class OpenAiJudgeProvider implements JudgeProvider {
  readonly id: string;
  readonly maxOutputTokens: number;
  private readonly client: OpenAI;
  private mode: OpenAiReplyMode;
  private tokenLimitField: TokenLimitField = 'max_tokens';
  /** The base URL as it may be shown and stored: credentials in it are redacted. */
  private readonly where: string;

  constructor(private readonly options: OpenAiJudgeOptions) {
    this.where = redactUrl(options.baseURL);
    // The id lands in summary.json and in every cache key, so it names the endpoint without secrets.
    this.id = `openai:${options.model}@${this.where}`;
    this.mode = options.mode ?? 'tools';
    const limit = options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
    if (!(Number.isInteger(limit) && limit > 0)) throw new Error(`maxOutputTokens must be a positive integer, got ${limit}`);
    this.maxOutputTokens = limit;
    this.client = new OpenAI({
      baseURL: options.baseURL,
      apiKey: options.apiKey || NO_KEY,
      // The engine owns retries and timeouts so that it can count them, honour the budget between
      // attempts and cap Retry-After.
      maxRetries: 0,
      timeout: 24 * 60 * 60 * 1000,
    });
  }

  /** The reply mode the provider currently uses (it only ever moves down the fallback list). */
  get replyMode(): OpenAiReplyMode {
    return this.mode;
  }

  estimateUsage(request: JudgeRequest): TokenUsage {
    return estimateAttempt(request.prompt, this.maxOutputTokens, REQUEST_OVERHEAD_TEXT);
  }

  async judge(request: JudgeRequest, signal: AbortSignal): Promise<JudgeVerdict> {
    for (let i = MODES.indexOf(this.mode); i < MODES.length; i++) {
      const mode = MODES[i];
      let completion: ChatCompletion;
      try {
        completion = await this.client.chat.completions.create(this.body(request, mode), { signal });
      } catch (error) {
        if (this.tokenLimitField === 'max_tokens' && asksForCompletionTokens(error)) {
          this.tokenLimitField = 'max_completion_tokens';
          i--;
          continue;
        }
        // A refused reply format falls through to the next one. The switch is remembered only once a
        // later format works, so one over-long prompt (also a 400) does not downgrade the whole run.
        if (isUnsupportedRequest(error) && i + 1 < MODES.length) continue;
        throw this.classify(error);
      }
      if (!isChatCompletion(completion)) {
        // A proxy's HTML error page or a truncated body: the server answered, but not a completion.
        const shown = typeof completion === 'string' ? completion : JSON.stringify(completion);
        throw new JudgeCallError(`the reply from ${this.where} is not a chat completion: ${this.clean(truncate(shown ?? String(completion), 200))}`, 'invalid');
      }
      if (MODES.indexOf(this.mode) < i) this.mode = mode;
      return readVerdict(completion, mode, request);
    }
    throw new JudgeCallError('the server rejected every reply format (tools, json_schema, plain JSON)', 'rejected');
  }

  /**
   * Text from the server goes through here before it becomes a message: it may echo the key, and
   * an error body can be any size, while the message is stored with every failed call.
   */
  private clean(text: string): string {
    return redactText(truncate(text, MAX_MESSAGE_CHARS), [this.options.apiKey]);
  }

  private body(request: JudgeRequest, mode: OpenAiReplyMode): ChatCompletionCreateParamsNonStreaming {
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: this.options.model,
      messages: [
        { role: 'system', content: mode === 'tools' ? SYSTEM_FOR_TOOLS : SYSTEM_FOR_JSON },
        { role: 'user', content: request.prompt },
      ],
    };
    // Always sent: the spend cap reserves this many output tokens per attempt and relies on the
    // server not to write more.
    body[this.tokenLimitField] = this.maxOutputTokens;
    const temperature = this.options.temperature === undefined ? 0 : this.options.temperature;
    if (temperature !== null) body.temperature = temperature;
    if (mode === 'tools') {
      body.tools = [
        {
          type: 'function',
          function: { name: MAKE_CHOICE, description: MAKE_CHOICE_DESCRIPTION, parameters: { ...CHOICE_SCHEMA } },
        },
      ];
      body.tool_choice = { type: 'function', function: { name: MAKE_CHOICE } };
    } else if (mode === 'json_schema') {
      body.response_format = {
        type: 'json_schema',
        json_schema: { name: MAKE_CHOICE, description: MAKE_CHOICE_DESCRIPTION, schema: { ...CHOICE_SCHEMA }, strict: true },
      };
    }
    return body;
  }

  private classify(error: unknown): Error {
    if (error instanceof OpenAI.APIError && error.status !== undefined) {
      const status = error.status;
      const where = `${status} from ${this.where}`;
      const said = this.clean(error.message);
      if (status === 401 || status === 403) {
        return new JudgeCallError(
          `${where}: ${said}. Check the API key (OPENAI_API_KEY for the CLI, the stored key in VS Code).`,
          'fatal',
          { status },
        );
      }
      if (status === 404) {
        return new JudgeCallError(`${where}: ${said}. Check --base-url and --model "${this.options.model}".`, 'fatal', {
          status,
        });
      }
      if (status === 429 && error.code === 'insufficient_quota') {
        return new JudgeCallError(`${where}: ${said}. The account has no quota left.`, 'fatal', { status });
      }
      if (status === 408 || status === 409 || status === 429 || status >= 500) {
        return new JudgeCallError(`${where}: ${said}`, 'transient', {
          status,
          retryAfterMs: retryAfterMs(error.headers),
        });
      }
      return new JudgeCallError(`${where}: ${said}`, 'rejected', { status });
    }
    if (error instanceof OpenAI.APIError) {
      // No status: connection refused, reset, DNS, or an abort the engine interprets itself.
      return new JudgeCallError(`cannot reach ${this.where}: ${this.clean(error.message)}`, 'transient');
    }
    if (error instanceof JudgeCallError) return error;
    if (error instanceof SyntaxError) {
      // The SDK parses a JSON content type itself; a cut-off or garbled body fails there.
      return new JudgeCallError(`the reply from ${this.where} is not valid JSON (${this.clean(error.message)})`, 'invalid');
    }
    // Anything else still becomes a message that may be stored.
    return new JudgeCallError(this.clean(error instanceof Error ? error.message : String(error)), 'invalid');
  }
}

/** 400/422 on a request with tools or response_format: the usual way a server says it lacks the feature. */
function isUnsupportedRequest(error: unknown): boolean {
  return error instanceof OpenAI.APIError && (error.status === 400 || error.status === 422);
}

/** A 400 that names max_completion_tokens: the model takes the newer token-limit field. */
function asksForCompletionTokens(error: unknown): boolean {
  return isUnsupportedRequest(error) && /max_completion_tokens/.test((error as Error).message);
}

function isChatCompletion(value: unknown): value is ChatCompletion {
  return typeof value === 'object' && value !== null && Array.isArray((value as ChatCompletion).choices);
}

/** Longest text from the server kept in a message. */
const MAX_MESSAGE_CHARS = 1000;

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function readVerdict(completion: ChatCompletion, mode: OpenAiReplyMode, request: JudgeRequest): JudgeVerdict {
  const message = completion.choices?.[0]?.message;
  const toolCall = message?.tool_calls?.find((call) => call.type === 'function' && call.function.name === MAKE_CHOICE);
  const replyText =
    toolCall && toolCall.type === 'function' ? toolCall.function.arguments : (message?.content ?? '');
  const usage = readUsage(completion, request, replyText);
  let parsed: ParsedChoice;
  if (toolCall && toolCall.type === 'function') {
    parsed = parseChoiceArguments(toolCall.function.arguments, usage);
  } else if (message?.content) {
    // Some servers accept tools but answer in content anyway; JSON there is still a verdict.
    parsed = parseChoiceText(message.content, usage);
  } else {
    throw new JudgeCallError(
      mode === 'tools' ? `the judge did not call ${MAKE_CHOICE}` : 'the judge returned an empty reply',
      'invalid',
      { usage },
    );
  }
  return { ...parsed, usage };
}

function readUsage(completion: ChatCompletion, request: JudgeRequest, replyText: string): TokenUsage {
  const usage = completion.usage;
  if (usage && Number.isFinite(usage.prompt_tokens) && Number.isFinite(usage.completion_tokens)) {
    return { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens };
  }
  return { input_tokens: estimateTokens(request.prompt), output_tokens: estimateTokens(replyText), estimated: true };
}
