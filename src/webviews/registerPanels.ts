// Commands and reload serializers of the generations and judge panels. Their modules load on first
// use, so activation stays cheap.
import * as vscode from 'vscode';
import { pickRun } from '../commands/pickRun';
import { vscodeUi } from '../common/ui.apis';
import { GENERATIONS_VIEW_TYPE } from '../protocol/generations';
import { JUDGE_VIEW_TYPE } from '../protocol/judge';
import type { RunRegistry } from '../runs/runRegistry';
import { runDirOf } from '../views/runsTree';
import type { GenerationsPanels } from './generationsPanel';
import type { JudgePanel } from './judgePanel';

export function registerPanels(context: vscode.ExtensionContext, registry: RunRegistry): vscode.Disposable[] {
  let generations: GenerationsPanels | undefined;
  const getGenerations = async () => {
    if (!generations) {
      const { GenerationsPanels } = await import('./generationsPanel');
      generations = new GenerationsPanels(context.extensionUri, registry);
      context.subscriptions.push(generations);
    }
    return generations;
  };
  let judge: JudgePanel | undefined;
  const getJudge = async () => {
    if (!judge) {
      const { JudgePanel } = await import('./judgePanel');
      judge = new JudgePanel(context.extensionUri, registry, context.secrets);
      context.subscriptions.push(judge);
    }
    return judge;
  };
  return [
    vscode.window.registerWebviewPanelSerializer(GENERATIONS_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => (await getGenerations()).restore(panel, state),
    }),
    vscode.window.registerWebviewPanelSerializer(JUDGE_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => (await getJudge()).restore(panel, state),
    }),
    vscode.commands.registerCommand('sftStudio.openGenerations', async (arg?: unknown) => {
      const runDir = runDirOf(arg) ?? (await registry.loaded(), await pickRun(vscodeUi, registry.list(), 'Run whose generations to show'));
      if (runDir) await (await getGenerations()).open(runDir);
    }),
    vscode.commands.registerCommand('sftStudio.openJudge', async () => (await getJudge()).open()),
  ];
}
