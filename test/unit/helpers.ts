import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Settings } from '../../src/common/settings';
import type { PickItem, ProgressReporter, Ui } from '../../src/common/ui';
import type { WorkspaceFacts } from '../../src/common/workspace';

/** Tests run from out/test/unit/, three levels below the repository root. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const fixtures = path.join(repoRoot, 'test', 'fixtures');

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sft-studio-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface UiCall {
  kind: string;
  message: string;
  buttons?: string[];
}

/** Records what a command showed; answers come from the queues the test fills. */
export class FakeUi implements Ui {
  readonly calls: UiCall[] = [];
  readonly commands: { command: string; args: unknown[] }[] = [];
  buttonAnswers: (string | undefined)[] = [];
  pickAnswers: ((items: readonly PickItem[]) => PickItem | undefined)[] = [];
  inputAnswers: (string | undefined)[] = [];

  private answer(kind: string, message: string, buttons: string[]) {
    this.calls.push({ kind, message, buttons });
    return Promise.resolve(this.buttonAnswers.shift());
  }
  showError(message: string, ...buttons: string[]) {
    return this.answer('error', message, buttons);
  }
  showWarning(message: string, ...buttons: string[]) {
    return this.answer('warning', message, buttons);
  }
  showInfo(message: string, ...buttons: string[]) {
    return this.answer('info', message, buttons);
  }
  pick<T extends PickItem>(items: readonly T[], placeHolder: string): Promise<T | undefined> {
    this.calls.push({ kind: 'pick', message: placeHolder, buttons: items.map((i) => i.label) });
    const answer = this.pickAnswers.shift();
    return Promise.resolve(answer ? (answer(items) as T | undefined) : undefined);
  }
  input(options: { prompt: string; value?: string; validate?: (value: string) => string | undefined }): Promise<string | undefined> {
    this.calls.push({ kind: 'input', message: options.prompt });
    return Promise.resolve(this.inputAnswers.shift());
  }
  async withProgress<T>(title: string, task: (progress: ProgressReporter) => Promise<T>): Promise<T> {
    this.calls.push({ kind: 'progress', message: title });
    return task({ report: (message) => this.calls.push({ kind: 'progress-report', message }), onCancel: () => undefined });
  }
  confirmAnswers: boolean[] = [];
  confirm(message: string, detail: string, action: string): Promise<boolean> {
    this.calls.push({ kind: 'confirm', message: `${message} ${detail}`, buttons: [action] });
    return Promise.resolve(this.confirmAnswers.shift() ?? false);
  }
  reveal(file: string): Promise<void> {
    this.calls.push({ kind: 'reveal', message: file });
    return Promise.resolve();
  }
  showMarkdown(title: string, markdown: string): Promise<void> {
    this.calls.push({ kind: 'markdown', message: `${title}\n${markdown}` });
    return Promise.resolve();
  }
  executeCommand(command: string, ...args: unknown[]): Promise<unknown> {
    this.commands.push({ command, args });
    return Promise.resolve(undefined);
  }
  openFile(file: string): Promise<void> {
    this.calls.push({ kind: 'open', message: file });
    return Promise.resolve();
  }
  messages(kind: string): string[] {
    return this.calls.filter((c) => c.kind === kind).map((c) => c.message);
  }
}

/** Polls until `check` passes or the time is up (for file-watching code). */
export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A trusted workspace rooted at `folder` holding `configs`; files are read from disk. */
export function fakeWorkspace(folder: string, configs: string[]): WorkspaceFacts {
  return {
    isTrusted: () => true,
    folders: () => [folder],
    activeConfigPath: () => undefined,
    findConfigFiles: async () => configs,
    saveAndRead: async (file) => fs.readFileSync(file, 'utf8'),
    asRelativePath: (file) => path.relative(folder, file),
  };
}

/** Settings with the extension's defaults, except what `over` changes. */
export function fakeSettings(over: Partial<Settings> = {}): Settings {
  return {
    pythonPath: () => undefined,
    runOverrides: () => [],
    runsDirectory: () => 'runs',
    stopGraceSeconds: () => 30,
    openDashboardOnStart: () => false,
    maxConcurrentRuns: () => 1,
    stallMinutes: () => 15,
    notifyLevel: () => 'all',
    setPythonPath: async () => undefined,
    ...over,
  };
}

/**
 * A message as VS Code carries it from `webview.postMessage` to the page (extension API 1.57+): JSON, with
 * every typed array or ArrayBuffer sent aside as binary and revived in the page. Returns the message the page
 * gets and the bytes sent aside. A typed array goes with its whole underlying buffer, which is why a sender
 * must not post small views of big buffers.
 */
export function throughWebviewWire(message: unknown): { received: unknown; binaryBytes: number } {
  const buffers: ArrayBufferLike[] = [];
  const json = JSON.stringify(message, (_key, value: unknown) => {
    if (ArrayBuffer.isView(value)) {
      let index = buffers.indexOf(value.buffer);
      if (index < 0) index = buffers.push(value.buffer) - 1;
      return { $$buffer: index, view: value.constructor.name, byteOffset: value.byteOffset, byteLength: value.byteLength };
    }
    return value;
  });
  const copies = buffers.map((b) => b.slice(0));
  const views: Record<string, new (buffer: ArrayBufferLike, offset: number, length: number) => unknown> = { Float64Array, Float32Array, Int32Array, Uint8Array };
  const received = JSON.parse(json, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && '$$buffer' in value) {
      const ref = value as { $$buffer: number; view: string; byteOffset: number; byteLength: number };
      const View = views[ref.view] as unknown as { new (b: ArrayBufferLike, o: number, l: number): unknown; BYTES_PER_ELEMENT: number };
      return new View(copies[ref.$$buffer], ref.byteOffset, ref.byteLength / View.BYTES_PER_ELEMENT);
    }
    return value;
  });
  return { received, binaryBytes: buffers.reduce((n, b) => n + b.byteLength, 0) };
}
