// Hover, completion and quick fixes for run configs, backed by configAssist (which reads the schema).
import * as vscode from 'vscode';
import { completionsAt, hoverAt, suggestedReplacement } from './configAssist';
import { CONFIG_SELECTOR } from './configCodeLens';

const YAML_CONFIGS: vscode.DocumentSelector = [{ scheme: 'file', pattern: '**/*.sft.yaml' }];
const DIAGNOSTIC_SOURCE = 'SFT Studio';

class ConfigHoverProvider implements vscode.HoverProvider {
  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const hover = hoverAt(document.getText(), document.offsetAt(position));
    if (!hover) return undefined;
    const range = new vscode.Range(document.positionAt(hover.start), document.positionAt(hover.end));
    return new vscode.Hover(new vscode.MarkdownString(hover.markdown), range);
  }
}

class ConfigCompletionProvider implements vscode.CompletionItemProvider {
  provideCompletionItems(document: vscode.TextDocument, position: vscode.Position): vscode.CompletionItem[] {
    const prefix = document.lineAt(position.line).text.slice(0, position.character);
    return completionsAt(document.getText(), prefix).map((c) => {
      const item = new vscode.CompletionItem(c.label, c.kind === 'field' ? vscode.CompletionItemKind.Property : vscode.CompletionItemKind.EnumMember);
      item.insertText = c.insertText;
      item.detail = c.detail;
      item.documentation = new vscode.MarkdownString(c.documentation);
      if (c.kind === 'field') {
        // Picking a field goes straight on to its value's completions.
        item.command = { command: 'editor.action.triggerSuggest', title: 'Suggest values' };
      }
      return item;
    });
  }
}

class DidYouMeanFixProvider implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const diagnostic of context.diagnostics) {
      if (diagnostic.source !== DIAGNOSTIC_SOURCE) continue;
      const replacement = suggestedReplacement(diagnostic.message);
      if (!replacement) continue;
      const current = document.getText(diagnostic.range);
      // Keep JSON's quotes around a key or value: replace only the word inside them.
      const quoted = /^".*"$/.test(current);
      const action = new vscode.CodeAction(`Change to "${replacement}"`, vscode.CodeActionKind.QuickFix);
      action.edit = new vscode.WorkspaceEdit();
      action.edit.replace(document.uri, diagnostic.range, quoted ? JSON.stringify(replacement) : replacement);
      action.diagnostics = [diagnostic];
      action.isPreferred = true;
      actions.push(action);
    }
    return actions;
  }
}

export function registerConfigLanguage(): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.languages.registerHoverProvider(CONFIG_SELECTOR, new ConfigHoverProvider()),
    vscode.languages.registerCompletionItemProvider(YAML_CONFIGS, new ConfigCompletionProvider(), ':', ' '),
    vscode.languages.registerCodeActionsProvider(CONFIG_SELECTOR, new DidYouMeanFixProvider(), {
      providedCodeActionKinds: DidYouMeanFixProvider.kinds,
    }),
  );
}
