// The part of a run config token insight needs, with the schema's defaults and paths resolved from
// the config file's folder, as the trainer resolves them.
import * as path from 'node:path';
import { isHubReference, type TrainFileEntry } from '../config/dataSource';
import { formatProblem, validateConfigFile } from '../config/validateConfig';
import { fieldSchemas } from '../config/runConfigSchema';
import { resolveModelDir } from './tokenizerLoader';
import { templateText } from './chatTemplates';
import type { ExcessLengthStrategy } from './conversationEncoder';

/** One source of training rows (data/dataset.py TrainSource): train_file, or one train_files entry. */
export interface TrainSource {
  /** Absolute path, or an hf://datasets/ reference as written (read by the trainer only). */
  path: string;
  /** The entry's dataset_format, else the config's; trainingRows resolves `auto` on the source's own rows. */
  datasetFormat: string;
  /** How many times the source's rows are used (trainingSplit.weightRows). */
  weight: number;
  /** The entry's column_mapping, else the config's. */
  columnMapping: Record<string, string>;
}

export interface InsightConfig {
  configPath: string;
  modelDir: string;
  /** The first training source's path (train_file, or train_files[0].path). */
  trainFile: string;
  trainFiles: TrainSource[];
  datasetFormat: string;
  maxLength: number;
  completionOnlyLoss: boolean;
  perDeviceTrainBatchSize: number;
  columnMapping: Record<string, string>;
  /** message_field_mapping, role_mapping, system_prompt: how rows become conversations (rowFormats.ts). */
  messageFieldMapping: Record<string, string> | null;
  roleMapping: Record<string, string> | null;
  systemPrompt: string | null;
  /** Jinja source of the config's `chat_template` (bundled name or .jinja file); undefined = the tokenizer's own. */
  chatTemplate: string | undefined;
  chatTemplateKwargs: Record<string, unknown>;
  excessLengthStrategy: ExcessLengthStrategy;
  validationSplitRatio: number;
  subsample: number;
  seed: number;
}

export class InsightConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InsightConfigError';
  }
}

function field<T>(config: Record<string, unknown>, key: string): T {
  return (config[key] ?? fieldSchemas[key]?.default) as T;
}

function chatTemplateChoice(choice: string | null | undefined, configDir: string): string | undefined {
  if (!choice) return undefined;
  try {
    return templateText(choice, configDir);
  } catch (error) {
    throw new InsightConfigError(`chat_template ${choice}: cannot read the template (${(error as Error).message})`);
  }
}

export function loadInsightConfig(configPath: string): InsightConfig {
  const absolute = path.resolve(configPath);
  const { config, problems } = validateConfigFile(absolute);
  const errors = problems.filter((p) => p.severity === 'error');
  if (!config || errors.length > 0) {
    throw new InsightConfigError(errors.map((p) => formatProblem(configPath, p)).join('\n') || `${configPath}: the config is empty`);
  }
  const task = field<string>(config, 'task');
  if (task !== 'causal_lm') {
    throw new InsightConfigError(`${configPath}: token insight covers task causal_lm, this config has task ${task}`);
  }
  const base = path.dirname(absolute);
  const resolve = (file: string) => (isHubReference(file) ? file : path.resolve(base, file));
  const datasetFormat = field<string>(config, 'dataset_format');
  const columnMapping = field<Record<string, string> | undefined>(config, 'column_mapping') ?? {};
  const entries = field<TrainFileEntry[] | undefined>(config, 'train_files') ?? [{ path: field<string>(config, 'train_file') }];
  const trainFiles = entries.map((entry) => ({
    path: resolve(entry.path),
    datasetFormat: entry.dataset_format ?? datasetFormat,
    weight: entry.weight ?? 1,
    columnMapping: entry.column_mapping ?? columnMapping,
  }));
  return {
    configPath: absolute,
    // A Hub id reads its cached snapshot; one not cached yet is a TokenizerLoadError that says how to fetch it.
    modelDir: resolveModelDir(field<string>(config, 'model_name_or_path'), base, field<string>(config, 'model_revision')),
    trainFile: trainFiles[0].path,
    trainFiles,
    datasetFormat,
    maxLength: field<number>(config, 'max_length'),
    completionOnlyLoss: field<boolean>(config, 'completion_only_loss'),
    perDeviceTrainBatchSize: field<number>(config, 'per_device_train_batch_size'),
    columnMapping,
    messageFieldMapping: field<Record<string, string> | null | undefined>(config, 'message_field_mapping') ?? null,
    roleMapping: field<Record<string, string> | null | undefined>(config, 'role_mapping') ?? null,
    systemPrompt: field<string | null | undefined>(config, 'system_prompt') ?? null,
    chatTemplate: chatTemplateChoice(field<string | null | undefined>(config, 'chat_template'), base),
    chatTemplateKwargs: field<Record<string, unknown> | null | undefined>(config, 'chat_template_kwargs') ?? {},
    excessLengthStrategy: field<ExcessLengthStrategy>(config, 'excess_length_strategy'),
    validationSplitRatio: field<number | undefined>(config, 'validation_split_ratio') ?? 0,
    subsample: field<number | undefined>(config, 'subsample') ?? 1,
    seed: field<number>(config, 'seed'),
  };
}
