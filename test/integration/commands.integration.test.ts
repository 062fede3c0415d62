// The manifest and the code agree: every command package.json contributes (palette, menus, lenses)
// is registered once the extension is active, and no sftStudio command is registered unannounced
// (which would leave it out of the palette and the README's list).
import * as assert from 'node:assert/strict';
import { suite, test } from 'mocha';
import * as vscode from 'vscode';
import { activatedExtension } from './helpers';

suite('commands', () => {
  test('every command contributed in package.json is registered', async () => {
    const { extension } = await activatedExtension();
    const contributed: string[] = (extension.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    assert.ok(contributed.length > 0, 'package.json contributes no commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      contributed.filter((id) => !registered.has(id)),
      [],
      'contributed but not registered',
    );
  });

  test('every registered sftStudio command is contributed in package.json', async () => {
    const { extension } = await activatedExtension();
    const { commands, views } = extension.packageJSON.contributes as { commands: { command: string }[]; views: Record<string, { id: string }[]> };
    const contributed = new Set(commands.map((c) => c.command));
    // The workbench registers `<view id>.focus`, `.open`, … for every contributed view itself.
    const viewIds = Object.values(views).flat().map((v) => `${v.id}.`);
    const ours = (await vscode.commands.getCommands(true)).filter((id) => id.startsWith('sftStudio.') && !viewIds.some((v) => id.startsWith(v)));
    assert.deepEqual(
      ours.filter((id) => !contributed.has(id)),
      [],
      'registered but missing from package.json',
    );
  });
});
