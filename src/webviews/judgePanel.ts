import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { OpenAiJudgeProvider, ReferenceJudge, VscodeLmJudgeProvider } from '../judge';
import { createLanguageModelApi, type LanguageModelApi } from '../judge/lm.apis';
import { isJudgeWebviewState, JUDGE_VIEW_TYPE, type JudgeHostMessage, type JudgeRequests } from '../protocol/judge';
import type { RunRegistry } from '../runs/runRegistry';
import { endpointLabel, JudgeController, type JudgeActions } from './judgeSession';
import { KeyedPanels, type PanelView } from './keyedPanels';
import { PanelBridge } from './panelBridge';
import { loadPanelPage } from './panelShell';

/** There is one judge panel: every open reveals it. */
const JUDGE_KEY = 'judge';

const apiKeyName = (baseURL: string) => `sftStudio.judge.apiKey:${baseURL.replace(/\/+$/, '')}`;

/** The single judge panel: pick two sides and a judge, watch the verdicts arrive, read past judgements. */
export class JudgePanel implements vscode.Disposable {
  private lm: LanguageModelApi | undefined;
  private readonly controller: JudgeController;
  private readonly panels: KeyedPanels<typeof JUDGE_KEY, PanelView>;

  constructor(
    private readonly extensionUri: vscode.Uri,
    registry: RunRegistry,
    private readonly secrets: vscode.SecretStorage,
  ) {
    const actions: JudgeActions = {
      provider: async (choice) => {
        if (choice.kind === 'reference') return new ReferenceJudge(choice.match);
        if (choice.kind === 'openai') {
          const apiKey = await this.secrets.get(apiKeyName(choice.baseURL));
          return new OpenAiJudgeProvider({ baseURL: choice.baseURL, model: choice.model, apiKey });
        }
        return VscodeLmJudgeProvider.select(this.lmApi(), { id: choice.modelId });
      },
      confirmEndpoint: async (judge, id) => {
        const where = endpointLabel(judge);
        const send = 'Resume and Send';
        const detail = `Resuming ${id} sends its remaining prompts and answers to ${where}, as recorded in its folder.`;
        return (await vscode.window.showWarningMessage(`Send to ${where}?`, { modal: true, detail }, send)) === send;
      },
      listModels: async () => (await this.lmApi().selectChatModels({})).map((m) => ({ id: m.id, label: `${m.name} (${m.vendor})` })),
      setApiKey: async (baseURL) => {
        const key = await vscode.window.showInputBox({
          prompt: `API key for ${baseURL} (kept in VS Code's secret storage)`,
          password: true,
          ignoreFocusOut: true,
        });
        if (!key) return false;
        await this.secrets.store(apiKeyName(baseURL), key);
        return true;
      },
      saveAs: async (defaultPath, text) => {
        const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(defaultPath), filters: { CSV: ['csv'] }, title: 'Export judgement' });
        if (!target) return undefined;
        await fs.promises.writeFile(target.fsPath, text, 'utf8');
        return target.fsPath;
      },
      showError: (message) => void vscode.window.showErrorMessage(message),
    };
    this.controller = new JudgeController(registry, actions);
    this.panels = new KeyedPanels(extensionUri, {
      viewType: JUDGE_VIEW_TYPE,
      title: 'SFT Judge',
      column: vscode.ViewColumn.Active,
      key: () => JUDGE_KEY,
      restoreTarget: async (saved) => (isJudgeWebviewState(saved ?? {}) ? JUDGE_KEY : undefined),
      create: (panel) => this.attach(panel),
    });
  }

  open(): Promise<void> {
    return this.panels.open(JUDGE_KEY);
  }

  restore(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    return this.panels.restore(panel, state);
  }

  dispose(): void {
    this.controller.cancel();
    this.panels.dispose();
  }

  private lmApi(): LanguageModelApi {
    return (this.lm ??= createLanguageModelApi());
  }

  private attach(panel: vscode.WebviewPanel): PanelView {
    loadPanelPage(panel, this.extensionUri, 'judge', 'SFT Judge');
    const bridge = new PanelBridge<JudgeRequests, JudgeHostMessage>(panel.webview, this.controller.options());
    this.controller.connect(bridge);
    const disposables: vscode.Disposable[] = [
      bridge,
      panel.onDidChangeViewState(() => {
        if (!panel.visible) bridge.unready();
      }),
    ];
    panel.onDidDispose(() => {
      disposables.forEach((d) => d.dispose());
      this.controller.connect(undefined);
    });
    return { panel };
  }
}
