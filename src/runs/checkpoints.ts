// The checkpoints of a run folder, as the trainer names them: checkpoints/step-N, written to a temporary
// folder, marked complete (complete.json, written last) and renamed. A step-N folder without its marker
// (copied in part, or from a version that wrote none) may lack files: it is not offered for chat, export
// or resume.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Checkpoint {
  step: number;
  path: string;
}

const CHECKPOINT_NAME = /^step-(\d+)$/;
/** trainer/sft_studio/train/checkpoint.py MARKER. */
export const COMPLETE_MARKER = 'complete.json';

/** Complete checkpoints, oldest first; none when the folder is missing. */
export function listCheckpoints(runDir: string): Checkpoint[] {
  const root = path.join(runDir, 'checkpoints');
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: Checkpoint[] = [];
  for (const entry of entries) {
    const match = CHECKPOINT_NAME.exec(entry.name);
    const folder = path.join(root, entry.name);
    if (entry.isDirectory() && match && isMarkedComplete(folder)) found.push({ step: Number(match[1]), path: folder });
  }
  return found.sort((a, b) => a.step - b.step);
}

/**
 * The marker is present and not empty. Its sizes and hashes are checked by the trainer before a resume; reading
 * every file here would cost a full read of each checkpoint whenever the Runs view draws.
 */
function isMarkedComplete(folder: string): boolean {
  try {
    const stat = fs.statSync(path.join(folder, COMPLETE_MARKER));
    return stat.isFile() && stat.size > 0;
  } catch {
    return false;
  }
}

export function latestCheckpoint(runDir: string): Checkpoint | undefined {
  return listCheckpoints(runDir).at(-1);
}
