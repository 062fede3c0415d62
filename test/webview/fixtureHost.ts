// The panel hosts' own code (sessions, bridge, page shell, run registry, judge engine) running in
// Node for the Chromium tests. Only what needs VS Code is replaced: the diff editor, save dialogs,
// the stop command and the chat model, each recorded so the tests can assert what was asked.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ReferenceJudge, type JudgeProvider, type JudgeRequest, type JudgeVerdict } from '../../src/judge';
import { appendControl } from '../../src/runs/runManager';
import { RunRegistry } from '../../src/runs/runRegistry';
import { DashboardSession } from '../../src/webviews/dashboardSession';
import { generationTable, GenerationsSession } from '../../src/webviews/generationsSession';
import { JudgeController } from '../../src/webviews/judgeSession';
import { PanelBridge, type BridgeOptions, type Disposable, type MessagePort } from '../../src/webviews/panelBridge';
import { makeNonce, renderWebviewHtml } from '../../src/webviews/webviewHtml';
import type { RequestMap } from '../../src/protocol/bridge';

export const WEBVIEW_ORIGIN = 'https://webview.test';

/** The panel's HTML exactly as the host renders it, with the test origin as cspSource. */
export function panelHtml(entry: string): string {
  return renderWebviewHtml({
    title: entry,
    cspSource: WEBVIEW_ORIGIN,
    nonce: makeNonce(),
    scriptUri: `${WEBVIEW_ORIGIN}/dist/webview/${entry}.js`,
    styleUri: `${WEBVIEW_ORIGIN}/dist/webview/${entry}.css`,
  });
}

/** What the fake VS Code side was asked to do. */
export type Recorded =
  | { kind: 'stop'; runDir: string }
  | { kind: 'diff'; title: string; left: string; right: string }
  | { kind: 'saved'; path: string }
  | { kind: 'error'; message: string };

/** A judge that stands in for a chat model: prefers answer 1 and argues in HTML, which must stay text. */
export class ScriptedHtmlJudge implements JudgeProvider {
  readonly id = 'scripted-html';
  async judge(request: JudgeRequest): Promise<JudgeVerdict> {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return {
      choice: request.answer1 === request.answer2 ? 0 : 1,
      argument: `<img src=x onerror="window.__sftInjected='judge'"><script>window.__sftInjected='judge-script'</script> answer 1 &amp; more`,
      usage: { input_tokens: 10, output_tokens: 5 },
    };
  }
}

export interface FixtureHost {
  /** A message the page posted (through the stub acquireVsCodeApi). */
  receive(message: unknown): void;
  recorded: Recorded[];
  registry: RunRegistry;
  judge?: JudgeController;
  dispose(): void;
}

export interface HostOptions {
  runsRoot: string;
  runDir?: string;
  compare?: string[];
  saveDir: string;
  /** Delivers a host message to the page (window.postMessage there). */
  deliver(message: unknown): void;
}

export async function openPanel(kind: 'dashboard' | 'generations' | 'judge', options: HostOptions): Promise<FixtureHost> {
  const registry = new RunRegistry({ roots: async () => [options.runsRoot], eventPollMs: 50, statusPollMs: 500 });
  await registry.refresh();
  const recorded: Recorded[] = [];
  let listener: ((message: unknown) => void) | undefined;
  const port: MessagePort = {
    postMessage: async (message) => {
      options.deliver(message);
      return true;
    },
    onDidReceiveMessage: (l) => {
      listener = l;
      return { dispose: () => (listener = undefined) };
    },
  };
  const saveAs = async (defaultPath: string, text: string) => {
    const target = path.join(options.saveDir, path.basename(defaultPath));
    fs.writeFileSync(target, text);
    recorded.push({ kind: 'saved', path: target });
    return target;
  };
  const disposables: Disposable[] = [registry];
  const connect = <R extends RequestMap, H>(bridgeOptions: BridgeOptions<R, H>) => {
    const bridge = new PanelBridge<R, H>(port, bridgeOptions);
    disposables.push(bridge);
    return bridge;
  };
  const runDir = options.runDir ?? '';
  let judge: JudgeController | undefined;
  if (kind === 'dashboard') {
    const session = new DashboardSession(
      registry,
      runDir,
      {
        stopRun: (dir) => void recorded.push({ kind: 'stop', runDir: dir }),
        requestControl: (dir, type) => appendControl(dir, { type, time: Date.now() / 1000 }),
      },
      options.compare,
    );
    disposables.push(...session.follow(connect(session.options())));
  } else if (kind === 'generations') {
    const session = new GenerationsSession(registry, runDir, {
      openDiff: async (dir, left, right, title) => {
        const table = generationTable(registry, dir);
        recorded.push({ kind: 'diff', title, left: table.cell(left)?.completion ?? '', right: table.cell(right)?.completion ?? '' });
      },
      saveAs: (defaultPath, _format, text) => saveAs(defaultPath, text),
    });
    disposables.push(...session.follow(connect(session.options())));
  } else {
    judge = new JudgeController(registry, {
      provider: async (choice) => (choice.kind === 'reference' ? new ReferenceJudge(choice.match) : new ScriptedHtmlJudge()),
      listModels: async () => [{ id: 'scripted-html', label: 'Scripted <b>judge</b>' }],
      setApiKey: async () => false,
      saveAs,
      showError: (message) => void recorded.push({ kind: 'error', message }),
    });
    judge.connect(connect(judge.options()));
  }
  return {
    receive: (message) => listener?.(message),
    recorded,
    registry,
    judge,
    dispose: () => {
      judge?.cancel();
      disposables.forEach((d) => d.dispose());
    },
  };
}
