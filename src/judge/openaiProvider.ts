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
}

/** Sent when no key is configured; local servers ignore it, hosted ones answer 401 (a clear fatal error). */
const NO_KEY = 'no-key';

export class OpenAiJudgeProvider implements JudgeProvider {
  readonly id: string;
  private readonly client: OpenAI;
  private mode: OpenAiReplyMode;

  constructor(private readonly options: OpenAiJudgeOptions) {
    this.id = `openai:${options.model}@${options.baseURL.replace(/\/+$/, '')}`;
    this.mode = options.mode ?? 'tools';
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

  async judge(request: JudgeRequest, signal: AbortSignal): Promise<JudgeVerdict> {
    for (let i = MODES.indexOf(this.mode); i < MODES.length; i++) {
      const mode = MODES[i];
      let completion: ChatCompletion;
      try {
        completion = await this.client.chat.completions.create(this.body(request, mode), { signal });
      } catch (error) {
        // A refused reply format falls through to the next one. The switch is remembered only once a
        // later format works, so one over-long prompt (also a 400) does not downgrade the whole run.
        if (isUnsupportedRequest(error) && i + 1 < MODES.length) continue;
        throw this.classify(error);
      }
      if (MODES.indexOf(this.mode) < i) this.mode = mode;
      return readVerdict(completion, mode, request);
    }
    throw new JudgeCallError('the server rejected every reply format (tools, json_schema, plain JSON)', 'rejected');
  }

  private body(request: JudgeRequest, mode: OpenAiReplyMode): ChatCompletionCreateParamsNonStreaming {
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: this.options.model,
      messages: [
        { role: 'system', content: mode === 'tools' ? SYSTEM_FOR_TOOLS : SYSTEM_FOR_JSON },
        { role: 'user', content: request.prompt },
      ],
    };
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
      const where = `${status} from ${this.options.baseURL}`;
      if (status === 401 || status === 403) {
        return new JudgeCallError(
          `${where}: ${error.message}. Check the API key (OPENAI_API_KEY for the CLI, the stored key in VS Code).`,
          'fatal',
          { status },
        );
      }
      if (status === 404) {
        return new JudgeCallError(`${where}: ${error.message}. Check --base-url and --model "${this.options.model}".`, 'fatal', {
          status,
        });
      }
      if (status === 429 && error.code === 'insufficient_quota') {
        return new JudgeCallError(`${where}: ${error.message}. The account has no quota left.`, 'fatal', { status });
      }
      if (status === 408 || status === 409 || status === 429 || status >= 500) {
        return new JudgeCallError(`${where}: ${error.message}`, 'transient', {
          status,
          retryAfterMs: retryAfterMs(error.headers),
        });
      }
      return new JudgeCallError(`${where}: ${error.message}`, 'rejected', { status });
    }
    if (error instanceof OpenAI.APIError) {
      // No status: connection refused, reset, DNS, or an abort the engine interprets itself.
      return new JudgeCallError(`cannot reach ${this.options.baseURL}: ${error.message}`, 'transient');
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** 400/422 on a request with tools or response_format: the usual way a server says it lacks the feature. */
function isUnsupportedRequest(error: unknown): boolean {
  return error instanceof OpenAI.APIError && (error.status === 400 || error.status === 422);
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
