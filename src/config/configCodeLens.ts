import * as vscode from 'vscode';

export const RUN_LENS_TITLE = '▶ Run';

/** Matches by file name, whatever language mode the YAML or JSON file is in. */
export const CONFIG_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', pattern: '**/*.sft.yaml' },
  { scheme: 'file', pattern: '**/*.sft.json' },
];

/** The lenses on the first line of every run config, in the order they appear. */
export const CONFIG_LENSES = [
  { title: RUN_LENS_TITLE, command: 'sftStudio.startRun', tooltip: 'SFT Studio: start a training run with this config' },
  { title: 'Dry run', command: 'sftStudio.dryRun', tooltip: 'SFT Studio: dataset statistics, trainable parameters, steps and memory, without training' },
  { title: 'Validate', command: 'sftStudio.validateConfig', tooltip: 'SFT Studio: check this config with the schema and the trainer' },
  { title: 'Estimate memory', command: 'sftStudio.estimateMemory', tooltip: "SFT Studio: the trainer's estimate of peak memory for this config" },
] as const;

export class RunCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const top = new vscode.Range(0, 0, 0, 0);
    return CONFIG_LENSES.map(
      (lens) => new vscode.CodeLens(top, { title: lens.title, tooltip: lens.tooltip, command: lens.command, arguments: [document.uri] }),
    );
  }
}
