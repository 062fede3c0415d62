import type { PickItem, Ui } from '../common/ui';

export interface InterpreterCandidate {
  path: string;
  /** Where it was found, shown beside the path. */
  origin: string;
}

export interface SelectInterpreterDeps {
  ui: Ui;
  candidates(): Promise<InterpreterCandidate[]>;
  exists(file: string): boolean;
  setPythonPath(path: string): Promise<void>;
}

interface Choice extends PickItem {
  path?: string;
}

const ENTER_PATH = 'Enter path…';

/** Quick pick of discovered interpreters plus "Enter path…"; writes sftStudio.pythonPath. */
export async function selectInterpreter(deps: SelectInterpreterDeps): Promise<string | undefined> {
  const seen = new Set<string>();
  const items: Choice[] = [];
  for (const candidate of await deps.candidates()) {
    if (seen.has(candidate.path)) continue;
    seen.add(candidate.path);
    items.push({ label: candidate.path, description: candidate.origin, path: candidate.path });
  }
  items.push({ label: ENTER_PATH, description: 'a Python with torch and transformers installed' });

  const choice = await deps.ui.pick(items, 'Python interpreter for SFT Studio training runs');
  if (!choice) return undefined;
  let chosen = choice.path;
  if (chosen === undefined) {
    chosen = await deps.ui.input({
      prompt: 'Path of the Python executable (e.g. /home/me/project/.venv/bin/python)',
      validate: (value) => (value.trim() === '' || deps.exists(value.trim()) ? undefined : `${value.trim()} does not exist`),
    });
    chosen = chosen?.trim();
    if (!chosen) return undefined;
  }
  await deps.setPythonPath(chosen);
  return chosen;
}
