// The part of a run config token insight needs, with the schema's defaults and paths resolved from
// the config file's folder, as the trainer resolves them.
import * as path from 'node:path';
import { formatProblem, validateConfigFile } from '../config/validateConfig';
import { fieldSchemas } from '../config/runConfigSchema';

export interface InsightConfig {
  configPath: string;
  modelDir: string;
  trainFile: string;
  datasetFormat: string;
  maxLength: number;
  completionOnlyLoss: boolean;
  perDeviceTrainBatchSize: number;
  columnMapping: Record<string, string>;
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
  return {
    configPath: absolute,
    modelDir: path.resolve(base, field<string>(config, 'model_name_or_path')),
    trainFile: path.resolve(base, field<string>(config, 'train_file')),
    datasetFormat: field<string>(config, 'dataset_format'),
    maxLength: field<number>(config, 'max_length'),
    completionOnlyLoss: field<boolean>(config, 'completion_only_loss'),
    perDeviceTrainBatchSize: field<number>(config, 'per_device_train_batch_size'),
    columnMapping: field<Record<string, string> | undefined>(config, 'column_mapping') ?? {},
    validationSplitRatio: field<number | undefined>(config, 'validation_split_ratio') ?? 0,
    subsample: field<number | undefined>(config, 'subsample') ?? 1,
    seed: field<number>(config, 'seed'),
  };
}
