// model_name_or_path is a local folder or a Hugging Face Hub id, by the same rule as the trainer
// (trainer/sft_studio/model/hub.py): a value naming an existing folder (relative to the config file) is that
// folder; otherwise `org/name` is a Hub id, never resolved as a path. Hub models live in the Hugging Face
// cache, which the editor reads but never fills: no network from the extension host.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Letters, digits, '_', '.', '-' on both sides of one slash (JS `\w` is ASCII, as the trainer's re.ASCII). */
export const HUB_ID = /^[\w.-]+\/[\w.-]+$/;
const COMMIT = /^[0-9a-f]{40}$/;

export function isHubId(value: string): boolean {
  return HUB_ID.test(value) && !/^(\.\/|\.\.\/|\/)/.test(value);
}

export type ModelKind = 'folder' | 'hub' | 'invalid';

/** `isDirectory` is injected so the validator can check unsaved text and tests can fake the disk. */
export function modelKind(value: string, configDir: string, isDirectory: (absolute: string) => boolean): ModelKind {
  if (isDirectory(path.resolve(configDir, value))) return 'folder';
  return isHubId(value) ? 'hub' : 'invalid';
}

export function isDirectory(absolute: string): boolean {
  try {
    return fs.statSync(absolute).isDirectory();
  } catch {
    return false;
  }
}

/** The hub cache folder huggingface_hub uses: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string {
  const expand = (p: string) => (p.startsWith('~') ? path.join(home, p.slice(1)) : p);
  const explicit = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (explicit) return path.resolve(expand(explicit));
  const hfHome = env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'huggingface');
  return path.resolve(expand(hfHome), 'hub');
}

export interface CachedSnapshot {
  /** `<cache>/models--org--name/snapshots/<commit>` when present. */
  folder?: string;
  /** Where it was looked for: the repo's cache folder. */
  repoFolder: string;
  commit?: string;
}

/**
 * The cached snapshot of `repoId` at `revision`: a commit is its own snapshot; a branch or tag is read
 * from `refs/<revision>`, which huggingface_hub writes when it downloads.
 */
export function cachedSnapshot(repoId: string, revision: string, cacheDir: string): CachedSnapshot {
  const repoFolder = path.join(cacheDir, `models--${repoId.split('/').join('--')}`);
  let commit: string | undefined = COMMIT.test(revision) ? revision : undefined;
  if (!commit) {
    try {
      commit = fs.readFileSync(path.join(repoFolder, 'refs', revision), 'utf8').trim() || undefined;
    } catch {
      commit = undefined;
    }
  }
  if (!commit) return { repoFolder };
  const folder = path.join(repoFolder, 'snapshots', commit);
  return isDirectory(folder) ? { folder, repoFolder, commit } : { repoFolder, commit };
}
