// The slice of the VS Code UI that command logic uses, as a plain interface: the commands take it
// as a parameter, ui.apis.ts implements it with vscode, and unit tests pass a recording fake.

export interface PickItem {
  label: string;
  description?: string;
  detail?: string;
}

export interface ProgressReporter {
  report(message: string): void;
  /** Called when the user cancels the notification (the work itself goes on). */
  onCancel(listener: () => void): void;
}

export interface Ui {
  showError(message: string, ...buttons: string[]): Promise<string | undefined>;
  showWarning(message: string, ...buttons: string[]): Promise<string | undefined>;
  showInfo(message: string, ...buttons: string[]): Promise<string | undefined>;
  pick<T extends PickItem>(items: readonly T[], placeHolder: string): Promise<T | undefined>;
  /** `password` hides what is typed (tokens, keys). */
  input(options: { prompt: string; value?: string; password?: boolean; validate?: (value: string) => string | undefined }): Promise<string | undefined>;
  withProgress<T>(title: string, task: (progress: ProgressReporter) => Promise<T>): Promise<T>;
  /** A modal question with one action button (and Cancel); resolves true only when the action was chosen. */
  confirm(message: string, detail: string, action: string): Promise<boolean>;
  executeCommand(command: string, ...args: unknown[]): Promise<unknown>;
  openFile(file: string): Promise<void>;
  /**
   * Shows a file or folder: in the Explorer when it is inside the workspace, else in the OS file manager when the
   * files are on this machine, else (a remote window) says where it is and offers to copy its path.
   */
  reveal(file: string): Promise<void>;
  /** Opens read-only Markdown (a report) rendered in a preview. */
  showMarkdown(title: string, markdown: string): Promise<void>;
}

/**
 * How `reveal` shows a path: the Explorer inside the workspace; the OS file manager only in a local window (in a
 * remote one, Remote-SSH, a dev container, WSL or Codespaces, the path is on another machine than the file manager);
 * undefined when neither can.
 */
export function revealCommand(insideWorkspace: boolean, remoteName: string | undefined): 'revealInExplorer' | 'revealFileInOS' | undefined {
  if (insideWorkspace) return 'revealInExplorer';
  return remoteName ? undefined : 'revealFileInOS';
}
