// How often the Runs view may ask VS Code to re-render. VS Code debounces a tree's
// onDidChangeTreeData by 200 ms (the first change renders at once, later ones when 200 ms pass
// without another), so a run that changes the tree every 100 ms would never be re-rendered after
// its first step. Firing at most once per TREE_REFRESH_MS, longer than that debounce, makes every
// fire the first of its window: a fast run's row moves about four times a second. Each fire is
// VSCODE_TREE_DEBOUNCE_MS ahead of the shared UI beat, so the row re-renders on the beat together with
// the status bar and the panels (one workbench commit instead of two).
import { throttle, UI_BEAT_MS } from '../common/throttle';

export const VSCODE_TREE_DEBOUNCE_MS = 200;
export const TREE_REFRESH_MS = UI_BEAT_MS;

/** `fire` at once after a quiet spell, then at most (and, while changes keep coming, at least) once per TREE_REFRESH_MS. */
export function treeRefresher(fire: () => void): { (): void; dispose(): void } {
  return throttle(fire, TREE_REFRESH_MS, -VSCODE_TREE_DEBOUNCE_MS);
}
