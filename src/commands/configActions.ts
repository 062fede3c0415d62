// The Dry run, Estimate memory and Validate lenses: each asks the trainer itself (the same code a
// run uses) about a config and shows the answer without starting a run.
import * as path from 'node:path';
import type { Settings } from '../common/settings';
import type { Ui } from '../common/ui';
import type { WorkspaceFacts } from '../common/workspace';
import { dryRunMarkdown, type ReportFocus } from '../config/dryRunReport';
import { formatProblem, validateConfigText } from '../config/validateConfig';
import type { ResolvedInterpreter } from '../python/interpreter';
import { lastJsonLine, type RunCli } from '../python/trainerCli';
import { checkOverrides, OverrideError } from '../runs/trainerCommand';
import { ensureTrusted, SELECT_INTERPRETER } from './startRun';

export interface ConfigActionDeps {
  ui: Ui;
  workspace: WorkspaceFacts;
  settings: Settings;
  resolvePython(): Promise<ResolvedInterpreter | undefined>;
  runCli: RunCli;
  extensionPath: string;
}

/** Dry run / Estimate memory: `train CONFIG --dry-run --json` with the run overrides, shown as a report. */
export async function dryRunConfig(deps: ConfigActionDeps, configPath: string, focus: ReportFocus): Promise<string | undefined> {
  const { ui } = deps;
  // The dry run imports the workspace's model code path (tokenizer, config): trusted workspaces only.
  if (!(await ensureTrusted(ui, deps.workspace))) return undefined;
  await deps.workspace.saveAndRead(configPath);
  const python = await requirePython(deps);
  if (!python) return undefined;
  let sets: string[];
  try {
    sets = checkOverrides(deps.settings.runOverrides()).flatMap((o) => ['--set', o]);
  } catch (error) {
    if (!(error instanceof OverrideError)) throw error;
    void ui.showError(`SFT Studio: sftStudio.runOverrides: ${error.message}.`);
    return undefined;
  }
  const label = path.basename(configPath);
  const result = await ui.withProgress(`SFT Studio: ${focus === 'memory' ? 'estimating memory for' : 'dry run of'} ${label}`, (progress) => {
    progress.report('loading the tokenizer and counting tokens…');
    return deps.runCli(python.path, ['train', configPath, '--dry-run', '--json', ...sets], {
      cwd: path.dirname(configPath),
      extensionPath: deps.extensionPath,
    });
  });
  if (result.spawnError) {
    void ui.showError(`SFT Studio: cannot run the trainer: ${result.spawnError}. Select another interpreter.`, SELECT_INTERPRETER);
    return undefined;
  }
  const json = result.code === 0 ? lastJsonLine(result.stdout) : undefined;
  const markdown = dryRunMarkdown({
    configLabel: deps.workspace.asRelativePath(configPath),
    focus,
    result: json,
    output: [result.stdout, result.stderr].filter((s) => s.trim()).join('\n'),
    exitCode: result.code,
  });
  await ui.showMarkdown(`${focus === 'memory' ? 'Memory estimate' : 'Dry run'} ${label}`, markdown);
  return markdown;
}

/**
 * Validate: the editor's schema check first (instant, exact positions); when it passes, the trainer's
 * own `validate`, which also knows what the schema cannot (e.g. field combinations).
 */
export async function validateConfigCommand(deps: ConfigActionDeps, configPath: string): Promise<boolean> {
  const { ui } = deps;
  const text = await deps.workspace.saveAndRead(configPath);
  const relative = deps.workspace.asRelativePath(configPath);
  const errors = validateConfigText(text, { configPath }).problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    void ui.showError(`SFT Studio: ${errors.length} problem${errors.length === 1 ? '' : 's'} in ${relative}; first: ${formatProblem(relative, errors[0])}`);
    await ui.executeCommand('workbench.actions.view.problems');
    return false;
  }
  const python = deps.workspace.isTrusted() ? await deps.resolvePython() : undefined;
  if (!python) {
    void ui.showInfo(`SFT Studio: ${relative} matches the run config schema (the trainer's own check needs a trusted workspace and a Python interpreter).`);
    return true;
  }
  const result = await ui.withProgress(`SFT Studio: validating ${path.basename(configPath)}`, () =>
    deps.runCli(python.path, ['validate', configPath], { cwd: path.dirname(configPath), extensionPath: deps.extensionPath, timeoutMs: 60_000 }),
  );
  if (result.code === 0) {
    void ui.showInfo(`SFT Studio: ${relative} is valid (schema and trainer).`);
    return true;
  }
  const output = (result.spawnError ?? `${result.stdout}\n${result.stderr}`).trim();
  void ui.showError(`SFT Studio: the trainer rejects ${relative}:\n${output.split('\n').slice(0, 8).join('\n')}`);
  return false;
}

async function requirePython(deps: ConfigActionDeps): Promise<ResolvedInterpreter | undefined> {
  const python = await deps.resolvePython();
  if (!python) {
    const choice = await deps.ui.showError(
      'SFT Studio needs a Python interpreter with torch and transformers for this: set sftStudio.pythonPath or run "SFT Studio: Set Up Training Environment".',
      SELECT_INTERPRETER,
    );
    if (choice === SELECT_INTERPRETER) await deps.ui.executeCommand('sftStudio.selectPythonInterpreter');
  }
  return python;
}
