// The schema file is bundled at build time, so the validator, the CLI and the trainer all read
// schema/run-config.schema.json and there is no second copy to drift.
import schema from '../../schema/run-config.schema.json';

export interface FieldSchema {
  description?: string;
  /** A JSON type, or several (e.g. [object, null] for a field that may be null). */
  type?: string | readonly string[];
  enum?: readonly unknown[];
  default?: unknown;
}

export const runConfigSchema: object = schema;

export const fieldSchemas: Readonly<Record<string, FieldSchema>> = schema.properties;

export const fieldNames: readonly string[] = Object.keys(schema.properties);

export const defaultOutputDir: string = schema.properties.output_dir.default;

/** Fields naming files or folders that must exist, resolved from the config file's folder. */
export const pathFields = [
  'model_name_or_path',
  'train_file',
  'validation_file',
  'generation_prompts_file',
] as const;
