/** SFT Studio's settings, read fresh on every call so edits apply without a reload. */
export interface Settings {
  pythonPath(): string | undefined;
  runOverrides(): unknown[];
  runsDirectory(): string;
  stopGraceSeconds(): number;
  openDashboardOnStart(): boolean;
  setPythonPath(path: string): Promise<void>;
}

export const SETTING_SECTION = 'sftStudio';
