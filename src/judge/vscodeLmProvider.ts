// Judge with a chat model VS Code offers (vscode.lm, e.g. Copilot). vscode.lm has no tool forcing or
// structured output, so the model is asked for a JSON object and the streamed text is parsed.
// Nor does it have a portable reply-length option (modelOptions are vendor-specific), so the reply's
// token limit is enforced here: the stream is cancelled once the reply passes it.
import { DEFAULT_MAX_OUTPUT_TOKENS, estimateAttempt, estimateTokens, parseChoiceText, SYSTEM_FOR_JSON } from './choice';
import { JudgeCallError } from './errors';
import type { LanguageModelApi, LmError, LmModel, LmSelector } from './lm.apis';
import type { JudgeProvider, JudgeRequest, JudgeVerdict, TokenUsage } from './types';

/** Characters per token assumed when cutting a reply off at the token limit. */
const CHARS_PER_TOKEN = 4;

export class VscodeLmJudgeProvider implements JudgeProvider {
  readonly id: string;

  constructor(
    private readonly api: LanguageModelApi,
    readonly model: LmModel,
    readonly maxOutputTokens: number = DEFAULT_MAX_OUTPUT_TOKENS,
  ) {
    this.id = `vscode-lm:${model.vendor}/${model.id}`;
  }

  estimateUsage(request: JudgeRequest): TokenUsage {
    return estimateAttempt(request.prompt, this.maxOutputTokens, SYSTEM_FOR_JSON);
  }

  /** The first chat model matching the selector; throws a message that says what to do when none does. */
  static async select(api: LanguageModelApi, selector: LmSelector = {}): Promise<VscodeLmJudgeProvider> {
    const models = await api.selectChatModels(selector);
    if (models.length === 0) {
      const wanted = Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      throw new JudgeCallError(
        `no VS Code chat model matches ${wanted || 'any selector'}; install and sign in to a chat model provider (e.g. GitHub Copilot), or judge with an OpenAI-compatible endpoint`,
        'fatal',
      );
    }
    return new VscodeLmJudgeProvider(api, models[0]);
  }

  async judge(request: JudgeRequest, signal: AbortSignal): Promise<JudgeVerdict> {
    const prompt = `${SYSTEM_FOR_JSON}\n\n${request.prompt}`;
    const limitChars = this.maxOutputTokens * CHARS_PER_TOKEN;
    // Cancels the model's request when the reply is long enough, as well as when the engine aborts.
    const cut = new AbortController();
    const onAbort = () => cut.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    let text = '';
    try {
      const stream = await this.api.sendRequest(this.model, prompt, cut.signal);
      for await (const chunk of untilAborted(stream, cut.signal)) {
        text += chunk;
        if (text.length >= limitChars) {
          text = text.slice(0, limitChars);
          cut.abort(new Error('reply limit reached'));
          break;
        }
      }
    } catch (error) {
      throw classify(error as LmError);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    const usage = await this.usage(prompt, text);
    const parsed = parseChoiceText(text, usage);
    return { ...parsed, usage };
  }

  private async usage(prompt: string, reply: string): Promise<TokenUsage> {
    try {
      const [input, output] = await Promise.all([
        this.api.countTokens(this.model, prompt),
        this.api.countTokens(this.model, reply),
      ]);
      return { input_tokens: input, output_tokens: output };
    } catch {
      return { input_tokens: estimateTokens(prompt), output_tokens: estimateTokens(reply), estimated: true };
    }
  }
}

/**
 * The stream's chunks until the signal aborts. A stream that stops sending without ending would
 * otherwise hold the call past its timeout, since waiting for the next chunk ignores the signal.
 */
async function* untilAborted(stream: AsyncIterable<string>, signal: AbortSignal): AsyncIterable<string> {
  const iterator = stream[Symbol.asyncIterator]();
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  // Unobserved when the stream ends first.
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    void iterator.return?.()?.catch?.(() => undefined);
  }
}

function classify(error: LmError): JudgeCallError {
  const message = error?.message ?? String(error);
  switch (error?.code) {
    case 'NoPermissions':
      return new JudgeCallError(`${message}. Allow SFT Studio to use the language model when VS Code asks.`, 'fatal');
    case 'NotFound':
      return new JudgeCallError(`${message}. The chat model is no longer available; choose another.`, 'fatal');
    case 'Blocked':
      // Quota or rate limit: waiting helps.
      return new JudgeCallError(message, 'transient');
    default:
      return new JudgeCallError(message, 'transient');
  }
}
