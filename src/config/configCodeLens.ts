import * as vscode from 'vscode';

export const RUN_LENS_TITLE = '▶ Run';

/** Matches by file name, whatever language mode the YAML or JSON file is in. */
export const CONFIG_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', pattern: '**/*.sft.yaml' },
  { scheme: 'file', pattern: '**/*.sft.json' },
];

/** `▶ Run` on the first line of every run config. */
export class RunCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    return [
      new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), {
        title: RUN_LENS_TITLE,
        tooltip: 'SFT Studio: start a training run with this config',
        command: 'sftStudio.startRun',
        arguments: [document.uri],
      }),
    ];
  }
}
