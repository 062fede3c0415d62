// Judge with a chat model VS Code offers (vscode.lm, e.g. Copilot). vscode.lm has no tool forcing or
// structured output, so the model is asked for a JSON object and the streamed text is parsed.
import { estimateTokens, parseChoiceText, SYSTEM_FOR_JSON } from './choice';
import { JudgeCallError } from './errors';
import type { LanguageModelApi, LmError, LmModel, LmSelector } from './lm.apis';
import type { JudgeProvider, JudgeRequest, JudgeVerdict, TokenUsage } from './types';

export class VscodeLmJudgeProvider implements JudgeProvider {
  readonly id: string;

  constructor(
    private readonly api: LanguageModelApi,
    readonly model: LmModel,
  ) {
    this.id = `vscode-lm:${model.vendor}/${model.id}`;
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
    let text = '';
    try {
      for await (const chunk of await this.api.sendRequest(this.model, prompt, signal)) text += chunk;
    } catch (error) {
      throw classify(error as LmError);
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
