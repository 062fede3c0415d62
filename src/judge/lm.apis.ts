// The only judge file that imports vscode: the slice of vscode.lm the judge uses, behind an
// interface that unit tests fake.
import * as vscode from 'vscode';

export interface LmModel {
  id: string;
  name: string;
  vendor: string;
  family: string;
  maxInputTokens: number;
}

export interface LmSelector {
  vendor?: string;
  family?: string;
  id?: string;
}

/** Errors carry vscode's LanguageModelError code (NoPermissions, Blocked, NotFound) when there is one. */
export interface LmError extends Error {
  code?: string;
}

export interface LanguageModelApi {
  selectChatModels(selector: LmSelector): Promise<LmModel[]>;
  /** One user message; resolves to the streamed text of the reply. */
  sendRequest(model: LmModel, prompt: string, signal: AbortSignal): Promise<AsyncIterable<string>>;
  countTokens(model: LmModel, text: string): Promise<number>;
}

export function createLanguageModelApi(): LanguageModelApi {
  const chats = new Map<string, vscode.LanguageModelChat>();
  const chatFor = (model: LmModel): vscode.LanguageModelChat => {
    const chat = chats.get(model.id);
    if (!chat) throw withCode(new Error(`language model ${model.id} was not selected`), 'NotFound');
    return chat;
  };
  return {
    async selectChatModels(selector) {
      const found = await vscode.lm.selectChatModels(selector);
      for (const chat of found) chats.set(chat.id, chat);
      return found.map(({ id, name, vendor, family, maxInputTokens }) => ({ id, name, vendor, family, maxInputTokens }));
    },
    async sendRequest(model, prompt, signal) {
      const cancel = new vscode.CancellationTokenSource();
      const onAbort = () => cancel.cancel();
      const release = () => {
        signal.removeEventListener('abort', onAbort);
        cancel.dispose();
      };
      if (signal.aborted) cancel.cancel();
      else signal.addEventListener('abort', onAbort, { once: true });
      let response: vscode.LanguageModelChatResponse;
      try {
        response = await chatFor(model).sendRequest(
          [vscode.LanguageModelChatMessage.User(prompt)],
          { justification: 'SFT Studio compares two models’ answers with a language-model judge.' },
          cancel.token,
        );
      } catch (error) {
        release();
        throw toLmError(error);
      }
      // The signal keeps cancelling the request while the reply streams (a timeout or the reply
      // limit lands mid-stream), and is let go when the stream ends.
      return (async function* () {
        try {
          for await (const chunk of response.text) yield chunk;
        } catch (error) {
          throw toLmError(error);
        } finally {
          release();
        }
      })();
    },
    async countTokens(model, text) {
      return chatFor(model).countTokens(text);
    },
  };
}

function toLmError(error: unknown): LmError {
  if (error instanceof vscode.LanguageModelError) return withCode(new Error(error.message), error.code);
  return error instanceof Error ? error : new Error(String(error));
}

function withCode(error: Error, code: string): LmError {
  return Object.assign(error, { code });
}
