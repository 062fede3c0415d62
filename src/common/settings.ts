/** SFT Studio's settings, read fresh on every call so edits apply without a reload. */
export interface Settings {
  pythonPath(): string | undefined;
  runOverrides(): unknown[];
  runsDirectory(): string;
  stopGraceSeconds(): number;
  openDashboardOnStart(): boolean;
  /** Runs allowed to train at once; further starts wait in a queue. */
  maxConcurrentRuns(): number;
  /** Minutes without a step after which a running run shows as stalled. */
  stallMinutes(): number;
  /** Which run endings raise a notification: all, failures (and stalls) only, or off. */
  notifyLevel(): 'all' | 'failures' | 'off';
  setPythonPath(path: string): Promise<void>;
}

export const SETTING_SECTION = 'sftStudio';
