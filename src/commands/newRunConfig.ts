import * as path from 'node:path';
import type { Ui } from '../common/ui';
import { configTemplates } from '../config/configTemplates';

export interface NewRunConfigDeps {
  ui: Ui;
  /** Where the file goes: the first workspace folder (undefined without one). */
  folder(): string | undefined;
  exists(file: string): boolean;
  writeFile(file: string, text: string): Promise<void>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** New Run Config: pick a template, name the file, write it next to the workspace root and open it. */
export async function newRunConfig(deps: NewRunConfigDeps): Promise<string | undefined> {
  const { ui } = deps;
  const folder = deps.folder();
  if (!folder) {
    void ui.showError('SFT Studio: open a folder first; a run config lives next to its data.');
    return undefined;
  }
  const template = await ui.pick(
    configTemplates.map((t) => ({ label: t.label, detail: t.detail, template: t })),
    'Template for the new run config',
  );
  if (!template) return undefined;
  const stem = await ui.input({
    prompt: 'Name of the new run config (saved as <name>.sft.yaml in the workspace folder)',
    value: firstFree(deps, folder, template.template.stem),
    validate: (value) => {
      const name = value.trim().replace(/\.sft\.yaml$/, '');
      if (!NAME.test(name)) return 'Use letters, digits, ".", "_" and "-" (no spaces or slashes)';
      return deps.exists(path.join(folder, `${name}.sft.yaml`)) ? `${name}.sft.yaml already exists` : undefined;
    },
  });
  const name = stem?.trim().replace(/\.sft\.yaml$/, '');
  if (!name) return undefined;
  const file = path.join(folder, `${name}.sft.yaml`);
  // writeFile must refuse to overwrite: the name was checked, but the disk can change meanwhile.
  await deps.writeFile(file, template.template.text);
  await ui.openFile(file);
  return file;
}

function firstFree(deps: NewRunConfigDeps, folder: string, stem: string): string {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? stem : `${stem}-${n}`;
    if (!deps.exists(path.join(folder, `${candidate}.sft.yaml`))) return candidate;
  }
}
