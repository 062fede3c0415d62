// The Hugging Face token for gated and private Hub models: kept in VS Code's SecretStorage only (never in
// settings, logs or run folders) and handed to the trainer process as HF_TOKEN in its environment.
import type { Ui } from './ui';

export const HF_TOKEN_SECRET = 'sftStudio.huggingFaceToken';

/** The slice of vscode.SecretStorage the token commands use. */
export interface SecretStore {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
}

/** Hub tokens are one word (hf_…); a pasted space or newline would only make every request fail. */
export function tokenProblem(value: string): string | undefined {
  const token = value.trim();
  if (token === '') return 'Paste a token from huggingface.co/settings/tokens (read access is enough).';
  if (/\s/.test(token)) return 'A token has no spaces or line breaks.';
  return undefined;
}

/** Set Hugging Face Token: asks with a hidden input box and stores the token. Resolves true when stored. */
export async function setHfToken(ui: Ui, secrets: SecretStore): Promise<boolean> {
  const had = (await secrets.get(HF_TOKEN_SECRET)) !== undefined;
  const value = await ui.input({
    prompt: `Hugging Face access token for gated and private models${had ? ' (replaces the one stored)' : ''}; create one at huggingface.co/settings/tokens`,
    password: true,
    validate: tokenProblem,
  });
  if (value === undefined || tokenProblem(value) !== undefined) return false;
  await secrets.store(HF_TOKEN_SECRET, value.trim());
  void ui.showInfo('SFT Studio: Hugging Face token stored in VS Code\'s secret storage; runs started from now on get it as HF_TOKEN.');
  return true;
}

/** Clear Hugging Face Token: forgets the stored token. Resolves true when there was one. */
export async function clearHfToken(ui: Ui, secrets: SecretStore): Promise<boolean> {
  if ((await secrets.get(HF_TOKEN_SECRET)) === undefined) {
    void ui.showInfo('SFT Studio: no Hugging Face token is stored.');
    return false;
  }
  await secrets.delete(HF_TOKEN_SECRET);
  void ui.showInfo('SFT Studio: Hugging Face token removed; runs started from now on get no HF_TOKEN from SFT Studio.');
  return true;
}
