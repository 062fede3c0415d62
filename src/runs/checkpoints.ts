// The checkpoints of a run folder, as the trainer names them: checkpoints/step-N, written to a
// temporary folder and renamed, so a name matching step-N is always a complete checkpoint.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Checkpoint {
  step: number;
  path: string;
}

const CHECKPOINT_NAME = /^step-(\d+)$/;

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
    if (entry.isDirectory() && match) found.push({ step: Number(match[1]), path: path.join(root, entry.name) });
  }
  return found.sort((a, b) => a.step - b.step);
}

export function latestCheckpoint(runDir: string): Checkpoint | undefined {
  return listCheckpoints(runDir).at(-1);
}
