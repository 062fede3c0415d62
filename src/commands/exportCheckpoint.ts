// "Export Checkpoint…": a checkpoint to a standalone merged model, to the Hugging Face Hub, to ONNX for the
// editor's chat, or to GGUF for llama.cpp / Ollama, through `python -m sft_studio export CHECKPOINT --format … --json`. The trainer does the work;
// this asks what to export, shows its progress lines in a cancellable notification and offers the result.
import type { PickItem, Ui } from '../common/ui';
import type { ExportProcess, ExportRun } from '../python/exportRunner';
import { lastJsonLine } from '../python/trainerCli';

export type ExportFormat = 'merged' | 'hub' | 'onnx' | 'gguf';
export type GgufType = 'f16' | 'q8_0';

export interface ExportRequest {
  checkpoint: string;
  format: ExportFormat;
  /** hub only */
  repoId?: string;
  public?: boolean;
  push?: 'merged' | 'adapter';
  /** gguf only */
  ggufType?: GgufType;
}

export type ExportOutcome =
  | { kind: 'done'; format: ExportFormat; path?: string; url?: string; repoId?: string; private?: boolean; modelfile?: string }
  | { kind: 'failed'; message: string; hint?: string; errorKind?: string }
  | { kind: 'cancelled' };

export interface ExportDeps {
  ui: Ui;
  isTrusted(): boolean;
  resolvePython(): Promise<string | undefined>;
  /** The token from SecretStorage. */
  hfToken(): Promise<string | undefined>;
  /** Whether the checkpoint holds a LoRA adapter (adapter_config.json). */
  isAdapter(checkpoint: string): boolean;
  start(python: string, args: readonly string[], options: { hfToken?: string; offline: boolean; onLine(line: string): void }): ExportProcess;
  openExternal(url: string): Promise<void>;
}

interface FormatItem extends PickItem {
  format: ExportFormat;
}

export const FORMAT_ITEMS: readonly FormatItem[] = [
  { label: 'Merged model', description: 'standalone folder for transformers', detail: 'LoRA merged into the base weights (or the full fine-tune): safetensors, tokenizer, chat template, generation config', format: 'merged' },
  { label: 'Push to Hugging Face Hub', description: 'private by default', detail: 'the merged model or the adapter, with a model card of the run; needs a token with write access', format: 'hub' },
  { label: 'ONNX for the editor chat', description: 'CHECKPOINT/onnx', detail: 'what Chat with This Checkpoint runs on onnxruntime', format: 'onnx' },
  { label: 'GGUF for llama.cpp / Ollama', description: 'f16 or q8_0, with a Modelfile', detail: 'one model.gguf (LoRA merged, tokenizer and chat template inside) and an Ollama Modelfile beside it', format: 'gguf' },
];
export const GGUF_ITEMS: readonly (PickItem & { ggufType: GgufType })[] = [
  { label: 'f16', description: 'full quality', detail: '16-bit weights: answers as the checkpoint does', ggufType: 'f16' },
  { label: 'q8_0', description: 'about half the size of f16', detail: '8-bit weights with a scale per 32 values: close to f16, a near-tie may go the other way', ggufType: 'q8_0' },
];
export const REVEAL = 'Reveal in Explorer';
export const OPEN_ON_HUB = 'Open on the Hub';
export const SET_TOKEN = 'Set Hugging Face Token';
export const MANAGE_TRUST = 'Manage Workspace Trust';

// The Hub's rule for repository ids: a user or organisation, a slash, a name; letters, digits, '-', '_', '.'.
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function repoIdProblem(value: string): string | undefined {
  const id = value.trim();
  if (!REPO_ID.test(id)) return 'Write OWNER/NAME, e.g. my-user/my-model (letters, digits, "-", "_" and ".").';
  if (/--|\.\./.test(id) || /[.-]$/.test(id)) return 'A repository id has no "--" or "..", and does not end with "-" or ".".';
  if (id.split('/')[1].length > 96) return 'A repository name has at most 96 characters.';
  return undefined;
}

/** `-m sft_studio export CHECKPOINT --format F --json [--repo-id ID [--public] [--push adapter]] [--gguf-type T]`. */
export function exportArgs(request: ExportRequest): string[] {
  const args = ['-m', 'sft_studio', 'export', request.checkpoint, '--format', request.format, '--json'];
  if (request.format === 'gguf') return [...args, '--gguf-type', request.ggufType ?? 'f16'];
  if (request.format !== 'hub') return args;
  if (!request.repoId) throw new Error('a Hub export needs a repository id');
  return [...args, '--repo-id', request.repoId.trim(), ...(request.public ? ['--public'] : []), ...(request.push === 'adapter' ? ['--push', 'adapter'] : [])];
}

/** What the exporter's exit code and last JSON line say; stderr's last line when it printed no JSON. */
export function parseExportOutcome(run: ExportRun, format: ExportFormat, cancelled: boolean): ExportOutcome {
  const json = lastJsonLine(run.stdout);
  if (cancelled || json?.cancelled === true) return { kind: 'cancelled' };
  if (run.spawnError) return { kind: 'failed', message: run.spawnError, hint: 'Set sftStudio.pythonPath or run SFT Studio: Select Python Interpreter.' };
  if (run.code === 0 && json && (typeof json.path === 'string' || typeof json.url === 'string')) {
    return {
      kind: 'done',
      format,
      path: typeof json.path === 'string' ? json.path : undefined,
      url: typeof json.url === 'string' ? json.url : undefined,
      repoId: typeof json.repo_id === 'string' ? json.repo_id : undefined,
      private: typeof json.private === 'boolean' ? json.private : undefined,
      ...(typeof json.modelfile === 'string' ? { modelfile: json.modelfile } : {}),
    };
  }
  if (json && typeof json.error === 'string') {
    return { kind: 'failed', message: json.error, hint: typeof json.hint === 'string' ? json.hint : undefined, errorKind: typeof json.kind === 'string' ? json.kind : undefined };
  }
  const last = run.stderr.trim().split(/\r?\n/).at(-1);
  return { kind: 'failed', message: last || `the exporter exited with code ${String(run.code)}` };
}

/** The whole command on one checkpoint folder; resolves to what happened (undefined when the user backed out). */
export async function exportCheckpoint(deps: ExportDeps, checkpoint: string): Promise<ExportOutcome | undefined> {
  const { ui } = deps;
  if (!deps.isTrusted()) {
    const choice = await ui.showError('SFT Studio: exporting a checkpoint runs Python code from this workspace, so it needs a trusted workspace. Trust this folder, then export again.', MANAGE_TRUST);
    if (choice === MANAGE_TRUST) await ui.executeCommand('workbench.trust.manage');
    return undefined;
  }
  const picked = await ui.pick(FORMAT_ITEMS, `Export ${checkpoint} as…`);
  if (!picked) return undefined;
  // Asked for before the repository id: without a token there is nothing to push with.
  const token = picked.format === 'hub' ? await deps.hfToken() : undefined;
  if (picked.format === 'hub' && !token) {
    if ((await ui.showError('SFT Studio: pushing to the Hub needs a Hugging Face token with write access.', SET_TOKEN)) === SET_TOKEN) {
      await ui.executeCommand('sftStudio.setHuggingFaceToken');
    }
    return undefined;
  }
  const request = await askDetails(deps, { checkpoint, format: picked.format });
  if (!request) return undefined;
  const python = await deps.resolvePython();
  if (!python) {
    await ui.showError('SFT Studio: no Python interpreter found; set sftStudio.pythonPath or run SFT Studio: Select Python Interpreter.');
    return undefined;
  }
  const outcome = await ui.withProgress(progressTitle(request), async (progress) => {
    let cancelled = false;
    const exporter = deps.start(python, exportArgs(request), {
      hfToken: token,
      offline: request.format !== 'hub',
      onLine: (line) => {
        if (!line.trimStart().startsWith('{')) progress.report(line);
      },
    });
    progress.onCancel(() => {
      cancelled = true;
      exporter.cancel();
    });
    return parseExportOutcome(await exporter.done, request.format, cancelled);
  });
  await announce(deps, outcome);
  return outcome;
}

async function askDetails(deps: ExportDeps, request: ExportRequest): Promise<ExportRequest | undefined> {
  const { ui } = deps;
  if (request.format === 'gguf') {
    const type = await ui.pick(GGUF_ITEMS, 'Weights in the GGUF file');
    return type ? { ...request, ggufType: type.ggufType } : undefined;
  }
  if (request.format !== 'hub') return request;
  const repoId = await ui.input({ prompt: 'Hub repository to push to (OWNER/NAME); it is created when it does not exist', validate: repoIdProblem });
  if (repoId === undefined || repoIdProblem(repoId)) return undefined;
  const visibility = await ui.pick(
    [
      { label: 'Private', description: 'only you (and your organisation) can see it', public: false },
      { label: 'Public', description: 'anyone can see and download it', public: true },
    ],
    `Visibility of ${repoId.trim()} when it is created`,
  );
  if (!visibility) return undefined;
  let push: 'merged' | 'adapter' = 'merged';
  if (deps.isAdapter(request.checkpoint)) {
    const what = await ui.pick(
      [
        { label: 'Merged model', description: 'standalone; loads with transformers alone', push: 'merged' as const },
        { label: 'Adapter only', description: 'small; loads with peft on its base model (a Hub model)', push: 'adapter' as const },
      ],
      'What to push',
    );
    if (!what) return undefined;
    push = what.push;
  }
  return { ...request, repoId: repoId.trim(), public: visibility.public, push };
}

function progressTitle(request: ExportRequest): string {
  if (request.format === 'hub') return `SFT Studio: pushing to ${request.repoId}`;
  if (request.format === 'gguf') return `SFT Studio: exporting to GGUF (${request.ggufType ?? 'f16'})`;
  return request.format === 'onnx' ? 'SFT Studio: exporting to ONNX' : 'SFT Studio: exporting the merged model';
}

/** An Ollama model name for a GGUF export: RUN-step-N from RUN/checkpoints/step-N/gguf-T/model.gguf, else the
 *  checkpoint folder's name; lower case, with what Ollama allows in a name (letters, digits, '-', '_', '.'). */
export function ollamaName(ggufPath: string): string {
  const parts = ggufPath.split(/[\\/]+/).filter(Boolean);
  const checkpoint = parts.at(-3) ?? 'model';
  const name = parts.at(-4) === 'checkpoints' && parts.at(-5) ? `${parts.at(-5)}-${checkpoint}` : checkpoint;
  return name.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'model';
}

/** `ollama create NAME -f MODELFILE`, the path quoted when it needs it. */
export function ollamaCommand(ggufPath: string, modelfile: string): string {
  const quoted = /^[\w@%+=:,./\\-]+$/.test(modelfile) ? modelfile : `"${modelfile.replace(/(["\\$`])/g, '\\$1')}"`;
  return `ollama create ${ollamaName(ggufPath)} -f ${quoted}`;
}

async function announce(deps: ExportDeps, outcome: ExportOutcome): Promise<void> {
  const { ui } = deps;
  if (outcome.kind === 'cancelled') {
    void ui.showInfo('SFT Studio: export cancelled; nothing was written at its destination.');
    return;
  }
  if (outcome.kind === 'failed') {
    const buttons = outcome.errorKind === 'token' ? [SET_TOKEN] : [];
    const choice = await ui.showError(`SFT Studio: export failed: ${outcome.message}${outcome.hint ? ` — ${outcome.hint}` : ''}`, ...buttons);
    if (choice === SET_TOKEN) await ui.executeCommand('sftStudio.setHuggingFaceToken');
    return;
  }
  if (outcome.url) {
    const visibility = outcome.private === undefined ? '' : outcome.private ? ' (private)' : ' (public)';
    if ((await ui.showInfo(`SFT Studio: pushed to ${outcome.repoId ?? outcome.url}${visibility}.`, OPEN_ON_HUB)) === OPEN_ON_HUB) await deps.openExternal(outcome.url);
    return;
  }
  if (!outcome.path) return;
  if (outcome.format === 'gguf') {
    const modelfile = outcome.modelfile ?? outcome.path.replace(/model\.gguf$/, 'Modelfile');
    const message = `SFT Studio: GGUF written to ${outcome.path}, with an Ollama Modelfile beside it (${modelfile}). ` +
      `For Ollama run: ${ollamaCommand(outcome.path, modelfile)}; for llama.cpp: llama-cli -m ${outcome.path}.`;
    if ((await ui.showInfo(message, REVEAL)) === REVEAL) await ui.reveal(outcome.path);
    return;
  }
  const what = outcome.format === 'onnx' ? 'ONNX graph' : 'merged model';
  if ((await ui.showInfo(`SFT Studio: ${what} written to ${outcome.path}.`, REVEAL)) === REVEAL) await ui.reveal(outcome.path);
}
