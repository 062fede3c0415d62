// What every panel host does with its vscode.WebviewPanel: restricted options, the HTML shell with
// a fresh nonce per load, and the icon.
import * as vscode from 'vscode';
import { makeNonce, renderWebviewHtml } from './webviewHtml';

export function panelOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    // Not retained when hidden: the app re-sends `ready` and gets the full state again, and its
    // view settings come back from setState.
    retainContextWhenHidden: false,
    enableFindWidget: true,
  };
}

/** Loads `dist/webview/<entry>.js` and `.css` into the panel. */
export function loadPanelPage(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, entry: string, title: string): void {
  const webview = panel.webview;
  const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', file)).toString();
  panel.title = title;
  panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'sft-studio.svg');
  webview.html = renderWebviewHtml({
    title,
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    scriptUri: asset(`${entry}.js`),
    styleUri: asset(`${entry}.css`),
  });
}
