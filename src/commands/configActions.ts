// The Dry run, Estimate memory and Validate lenses: each asks the trainer itself (the same code a
// run uses) about a config and shows the answer without starting a run.
import * as path from 'node:path';
import type { Settings } from '../common/settings';
import type { Ui } from '../common/ui';
import type { WorkspaceFacts } from '../common/workspace';
import { dryRunMarkdown, type ReportFocus, type SlurmDryRun } from '../config/dryRunReport';
import { parseConfigText } from '../config/parseConfig';
import { formatProblem, validateConfigText } from '../config/validateConfig';
import type { ResolvedInterpreter } from '../python/interpreter';
import { lastJsonLine, type CliResult, type RunCli } from '../python/trainerCli';
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

/**
 * The launcher a run of this config gets: the config's `launcher`, unless an override (sftStudio.runOverrides)
 * sets it; the later override wins, as in the trainer. Quotes around an override's value are YAML's, not the value's.
 */
export function configLauncher(text: string, overrides: readonly string[]): string {
  const value = parseConfigText(text).value;
  let launcher = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>).launcher : undefined;
  for (const override of overrides) {
    if (override.startsWith('launcher=')) launcher = override.slice('launcher='.length).trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return typeof launcher === 'string' ? launcher : 'local';
}

/**
 * Dry run / Estimate memory: `train CONFIG --dry-run --json` with the run overrides, shown as a report. The dry run
 * of a `launcher: slurm` config also shows the sbatch script ▶ Run would submit (`submit CONFIG --dry-run --json`).
 */
export async function dryRunConfig(deps: ConfigActionDeps, configPath: string, focus: ReportFocus): Promise<string | undefined> {
  const { ui } = deps;
  // The dry run imports the workspace's model code path (tokenizer, config): trusted workspaces only.
  if (!(await ensureTrusted(ui, deps.workspace))) return undefined;
  const text = await deps.workspace.saveAndRead(configPath);
  const python = await requirePython(deps);
  if (!python) return undefined;
  let overrides: string[];
  try {
    overrides = checkOverrides(deps.settings.runOverrides());
  } catch (error) {
    if (!(error instanceof OverrideError)) throw error;
    void ui.showError(`SFT Studio: sftStudio.runOverrides: ${error.message}.`);
    return undefined;
  }
  const sets = overrides.flatMap((o) => ['--set', o]);
  const label = path.basename(configPath);
  const onSlurm = focus === 'all' && configLauncher(text, overrides) === 'slurm';
  const options = { cwd: path.dirname(configPath), extensionPath: deps.extensionPath };
  const [result, submit] = await ui.withProgress(`SFT Studio: ${focus === 'memory' ? 'estimating memory for' : 'dry run of'} ${label}`, async (progress) => {
    progress.report('loading the tokenizer and counting tokens…');
    const train = await deps.runCli(python.path, ['train', configPath, '--dry-run', '--json', ...sets], options);
    if (!onSlurm || train.spawnError) return [train, undefined] as const;
    progress.report('writing the sbatch script (submit --dry-run)…');
    return [train, await deps.runCli(python.path, ['submit', configPath, '--dry-run', '--json', ...sets], { ...options, timeoutMs: 60_000 })] as const;
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
    ...(submit ? { slurm: slurmDryRun(submit) } : {}),
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

function slurmDryRun(result: CliResult): SlurmDryRun {
  const json = result.code === 0 ? lastJsonLine(result.stdout) : undefined;
  if (typeof json?.script === 'string') return { script: json.script, ...(typeof json.run_dir === 'string' ? { runDir: json.run_dir } : {}) };
  return { output: [result.stdout, result.stderr].filter((s) => s.trim()).join('\n'), exitCode: result.code };
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
