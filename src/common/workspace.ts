/** The workspace facts command logic needs; workspace.apis.ts implements it with vscode. */
export interface WorkspaceFacts {
  isTrusted(): boolean;
  folders(): string[];
  /** The config shown in the active editor, if it is one. */
  activeConfigPath(): string | undefined;
  findConfigFiles(): Promise<string[]>;
  /** Saves the file if it is open with unsaved edits (the trainer reads the disk) and returns its text. */
  saveAndRead(file: string): Promise<string>;
  asRelativePath(file: string): string;
}
