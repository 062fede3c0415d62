// Where a config's data comes from, by the trainer's rules (trainer/sft_studio/data/hub_data.py, readers.py, dataset.py):
// a file whose suffix says how it is read, or a Hub dataset `hf://datasets/ORG/NAME[@REVISION][/SUBSET][[SPLIT]]`
// loaded by the trainer through the `datasets` library; and `train_file`, or `train_files` entries mixed by weight.

/** The suffixes the trainer reads (readers.DATA_SUFFIXES). */
export const DATA_SUFFIXES = ['.jsonl', '.json', '.csv', '.parquet', '.arrow'] as const;

/** JS `\w` is ASCII, as the trainer's re.ASCII. */
const HUB_DATASET = /^hf:\/\/datasets\/[\w.-]+\/[\w.-]+(?:@[^/@[\]]+)?(?:\/[^/@[\]]+)?(?:\[[\w.-]+\])?$/;
const DATASETS_PREFIX = 'hf://datasets/';
export const HUB_SYNTAX = 'hf://datasets/ORG/NAME, optionally followed by @REVISION, /SUBSET and [SPLIT]';
export const HUB_EXAMPLE = 'hf://datasets/HuggingFaceH4/ultrachat_200k[train_sft]';

/** Whether a data path is meant as a Hub dataset (it may still be malformed: see hubReferenceProblem). */
export function isHubReference(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('hf://');
}

/** Why an `hf://` value is not a Hub dataset reference, or undefined when it is one (hub_data.reference_problem). */
export function hubReferenceProblem(value: string): string | undefined {
  if (HUB_DATASET.test(value) && !/^hf:\/\/datasets\/\.\.?\//.test(value)) return undefined;
  if (!value.startsWith(DATASETS_PREFIX)) return `not a Hub dataset: only ${DATASETS_PREFIX}ORG/NAME can be read from hf://`;
  return `not a Hub dataset reference: write ${HUB_SYNTAX}, e.g. ${HUB_EXAMPLE}`;
}

/** One source of training rows as the config states it (data/dataset.py TrainSource, before paths are resolved). */
export interface TrainFileEntry {
  path: string;
  dataset_format?: string;
  weight?: number;
  column_mapping?: Record<string, string>;
}

/** `train_files[i].path`, or `train_file`: the config fields naming data, with their place in the config. */
export function dataPathFields(config: Record<string, unknown>): { label: string; at: string[]; value: unknown }[] {
  const fields = ['train_file', 'validation_file'].map((key) => ({ label: key, at: [key], value: config[key] }));
  const entries = config.train_files;
  if (Array.isArray(entries)) {
    entries.forEach((entry, i) => {
      if (entry && typeof entry === 'object' && !Array.isArray(entry)) {
        fields.push({ label: `train_files[${i}].path`, at: ['train_files', String(i), 'path'], value: (entry as TrainFileEntry).path });
      }
    });
  }
  return fields;
}
