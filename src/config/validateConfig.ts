import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Node as YamlNode } from 'yaml';
import { dataPathFields, hubReferenceProblem, isHubReference } from './dataSource';
import { didYouMean } from './didYouMean';
import { decodeConfigBytes } from './configBytes';
import { isDirectory, modelKind } from './modelSource';
import {
  firstKeyNodeAt,
  keyNodeAt,
  nodeAt,
  parseConfigText,
  spanOf,
  type ParsedConfig,
  type SourceSpan,
} from './parseConfig';
import { fieldNames, fieldSchemas, pathFields, runConfigSchema } from './runConfigSchema';
import { bundledTemplateNames, isTemplateFile } from './chatTemplateFiles';
import type { ConfigProblem } from './configProblem';
import { isSweepParameterError, sweepProblems } from './sweepProblems';

export type { ConfigProblem } from './configProblem';

export interface ConfigValidation {
  /** The parsed config when it has no syntax errors (it may still break the schema). */
  config: Record<string, unknown> | undefined;
  problems: ConfigProblem[];
}

export interface ValidateOptions {
  /** The config file's absolute path; relative paths inside the config resolve from its folder. */
  configPath: string;
  /** Injected so the editor can check unsaved text and tests can fake the disk. */
  exists?: (absolutePath: string) => boolean;
  /** Whether a path is a folder (model_name_or_path); defaults to `exists` when that is injected, else the disk. */
  isDirectory?: (absolutePath: string) => boolean;
}

let compiled: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  // Compiled on first use: ajv code generation costs a few ms that activation should not pay.
  compiled ??= new Ajv2020({ allErrors: true, strict: false }).compile(runConfigSchema);
  return compiled;
}

export function validateConfigText(text: string, options: ValidateOptions): ConfigValidation {
  const parsed = parseConfigText(text);
  if (parsed.syntaxErrors.length > 0) {
    return {
      config: undefined,
      problems: parsed.syntaxErrors.map(({ message, span }) => ({
        ...span,
        message,
        severity: 'error',
        field: '',
        code: 'syntax',
      })),
    };
  }

  const value = parsed.value;
  if (value === null || value === undefined) {
    return {
      config: undefined,
      problems: [
        {
          line: 1,
          column: 1,
          endLine: 1,
          endColumn: 2,
          message: 'config is empty: write at least model_name_or_path and train_file',
          severity: 'error',
          field: '',
          code: 'empty',
        },
      ],
    };
  }

  const validate = schemaValidator();
  // JSON Schema bounds compare false against NaN and accept infinity: `.nan` and `1e999` are reported here,
  // and the schema's own words about those values are dropped.
  const nonFinite = nonFiniteProblems(parsed, value);
  const problems: ConfigProblem[] = [...nonFinite];
  if (!validate(value)) {
    for (const error of validate.errors ?? []) {
      if (isSweepParameterError(error)) continue; // one problem per swept parameter: sweepProblems
      const problem = schemaProblem(parsed, error);
      if (!nonFinite.some((p) => problem.field === p.field || problem.field.startsWith(`${p.field}.`))) problems.push(problem);
    }
  }
  if (isRecord(value)) problems.push(...missingFileProblems(parsed, value, options));
  if (isRecord(value)) problems.push(...sweepProblems(parsed, value, validate.errors ?? []));
  return { config: isRecord(value) ? value : undefined, problems: sortUnique(problems) };
}

export function validateConfigFile(configPath: string): ConfigValidation {
  const absolute = path.resolve(configPath);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(fs.readFileSync(absolute));
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const reason = code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'it is a folder, not a file' : message;
    return {
      config: undefined,
      problems: [
        {
          line: 1,
          column: 1,
          endLine: 1,
          endColumn: 1,
          message: `cannot read config: ${reason}`,
          severity: 'error',
          field: '',
          code: 'unreadable',
        },
      ],
    };
  }
  const decoded = decodeConfigBytes(bytes);
  if (!('text' in decoded)) {
    const { line, column, message } = decoded;
    return { config: undefined, problems: [{ line, column, endLine: line, endColumn: column + 1, message, severity: 'error', field: '', code: 'encoding' }] };
  }
  return validateConfigText(decoded.text, { configPath: absolute });
}

/** `path:line:col: message`, the format of the CLI, the trainer's validate and the start-refusal notice. */
export function formatProblem(file: string, problem: ConfigProblem): string {
  return `${file}:${problem.line}:${problem.column}: ${problem.message}`;
}

function schemaProblem(parsed: ParsedConfig, error: ErrorObject): ConfigProblem {
  const at = pointerSegments(error.instancePath);
  const field = at.join('.');
  const value = valueAt(parsed.value, at);
  const base = { severity: 'error' as const, code: error.keyword };
  const params = error.params as Record<string, unknown>;

  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const known = at.length === 0 ? fieldNames : at[0] === 'train_files' && at.length === 2 ? trainFileKeys : at[0] === 'sweep' && at.length === 1 ? sweepKeys : undefined;
      const suggestion = known ? didYouMean(name, known) : undefined;
      const hint = suggestion
        ? `; did you mean "${suggestion}"?`
        : '; remove it or see the run config schema for the fields it accepts';
      return {
        ...base,
        code: 'unknown-field',
        field: [...at, name].join('.'),
        message: `unknown field "${name}"${hint}`,
        ...nodeSpan(parsed, keyNodeAt(parsed.document, at, name)),
      };
    }
    case 'required': {
      const name = String(params.missingProperty);
      const about = at.length === 0 ? firstSentence(fieldSchemas[name]?.description) : undefined;
      const entry = at[0] === 'train_files' ? `${label(at)} has no "${name}": add ${name}: data/train.jsonl (a data file, or hf://datasets/ORG/NAME for a Hub dataset)` : undefined;
      return {
        ...base,
        field: [...at, name].join('.'),
        message: entry ?? `missing required field "${name}"${about ? ` (${about})` : ''}`,
        ...nodeSpan(parsed, firstKeyNodeAt(parsed.document, at) ?? nodeAt(parsed.document, at)),
      };
    }
    default:
      return {
        ...base,
        field,
        message: valueMessage(field, error, value, params),
        ...nodeSpan(parsed, nodeAt(parsed.document, at)),
      };
  }
}

function valueMessage(
  field: string,
  error: ErrorObject,
  value: unknown,
  params: Record<string, unknown>,
): string {
  const subject = field === '' ? 'config' : label(field.split('.'));
  const got = `got ${describe(value)}`;
  if (field.startsWith('train_files.') && field.endsWith('.weight')) {
    return `${subject} must be a number greater than 0 (how many times the file's rows are used: 0.5 = a seeded half, 2 = every row twice); ${got}`;
  }
  switch (error.keyword) {
    case 'type': {
      const expected = String(params.type);
      if (field === '') return `a run config must be a mapping of field: value, ${got}`;
      const yesNo = expected === 'boolean' && typeof value === 'string' && /^(yes|no|on|off|y|n)$/i.test(value);
      return `${subject} must be ${article(expected)}; ${got}${yesNo ? ' (write true or false)' : ''}`;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${subject} must be ${String(params.comparison)} ${String(params.limit)}; ${got}`;
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const suggestion = typeof value === 'string' ? didYouMean(value, allowed) : undefined;
      return `${subject} must be one of ${allowed.join(', ')}; ${got}${suggestion ? `; did you mean "${suggestion}"?` : ''}`;
    }
    case 'const':
      return `${subject} must be ${JSON.stringify(params.allowedValue)}; ${got}`;
    case 'pattern':
      return `${subject} may contain only letters, digits, ".", "_" and "-" (pattern ${String(params.pattern)}); ${got}`;
    case 'minLength':
      return `${subject} must not be empty`;
    default:
      return `${subject} ${error.message ?? 'is invalid'}; ${got}`;
  }
}

function nonFiniteProblems(parsed: ParsedConfig, value: unknown, at: string[] = []): ConfigProblem[] {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    const written = Number.isNaN(value) ? '.nan' : value < 0 ? '-.inf' : '.inf';
    return [
      {
        severity: 'error',
        code: 'not-finite',
        field: at.join('.'),
        message: `${label(at)} must be a finite number; got ${written}`,
        ...nodeSpan(parsed, nodeAt(parsed.document, at)),
      },
    ];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => nonFiniteProblems(parsed, item, [...at, String(i)]));
  if (isRecord(value)) return Object.entries(value).flatMap(([key, item]) => nonFiniteProblems(parsed, item, [...at, key]));
  return [];
}

function missingFileProblems(
  parsed: ParsedConfig,
  config: Record<string, unknown>,
  options: ValidateOptions,
): ConfigProblem[] {
  const exists = options.exists ?? fs.existsSync;
  const folder = path.dirname(options.configPath);
  const problems: ConfigProblem[] = [];
  const folderTest = options.isDirectory ?? (options.exists ? exists : isDirectory);
  problems.push(...chatTemplateProblems(parsed, config, folder, exists));
  problems.push(...dataSourceProblems(parsed, config, folder, exists));
  for (const field of pathFields) {
    const value = config[field];
    if (typeof value !== 'string' || value === '') continue;
    if (field !== 'model_name_or_path' && isHubReference(value)) continue; // a Hub dataset: dataSourceProblems
    const absolute = path.resolve(folder, value);
    const span = nodeSpan(parsed, nodeAt(parsed.document, [field]));
    if (field === 'model_name_or_path') {
      // A folder, else a Hub id (fetched by the trainer), else neither: the trainer's rule (hub.py).
      if (modelKind(value, folder, folderTest) !== 'invalid') continue;
      problems.push({
        severity: 'error',
        code: 'missing-file',
        field,
        message: `${field}: "${value}" is not a folder and not a Hub id (no folder ${absolute}); point it at a local model folder (relative to the config file's folder) or write a Hub id such as Qwen/Qwen2.5-0.5B-Instruct`,
        ...span,
      });
      continue;
    }
    if (exists(absolute)) continue;
    problems.push({
      severity: 'error',
      code: 'missing-file',
      field,
      message: `${field}: file "${value}" not found (looked for ${absolute}; relative paths start at the config file's folder)`,
      ...span,
    });
  }
  return problems;
}

/**
 * Exactly one of train_file and train_files; an `hf://` data path is a well-formed Hub dataset reference; every
 * train_files path exists (the trainer's rules: config.py _data_source_problems).
 */
function dataSourceProblems(parsed: ParsedConfig, config: Record<string, unknown>, folder: string, exists: (file: string) => boolean): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const has = (key: string) => config[key] !== undefined && config[key] !== null;
  if (has('train_file') && has('train_files')) {
    problems.push({
      severity: 'error',
      code: 'exclusive',
      field: 'train_files',
      message: 'train_files: set either "train_file" or "train_files", not both; move the file into train_files as "- path: ..."',
      ...nodeSpan(parsed, nodeAt(parsed.document, ['train_files'])),
    });
  } else if (!has('train_file') && !has('train_files')) {
    problems.push({
      severity: 'error',
      code: 'required',
      field: 'train_file',
      message: 'missing training data: add "train_file" (a data file, or hf://datasets/ORG/NAME for a Hub dataset), or "train_files" with entries {path, weight} to mix several',
      ...nodeSpan(parsed, firstKeyNodeAt(parsed.document, [])),
    });
  }
  for (const { label, at, value } of dataPathFields(config)) {
    if (typeof value !== 'string' || value === '') continue;
    const span = nodeSpan(parsed, nodeAt(parsed.document, at));
    if (isHubReference(value)) {
      const problem = hubReferenceProblem(value);
      if (problem) problems.push({ severity: 'error', code: 'invalid-value', field: at.join('.'), message: `${label}: ${problem}`, ...span });
      continue;
    }
    if (at[0] !== 'train_files') continue; // train_file and validation_file: the path-field check
    const absolute = path.resolve(folder, value);
    if (exists(absolute)) continue;
    problems.push({
      severity: 'error',
      code: 'missing-file',
      field: at.join('.'),
      message: `${label}: file "${value}" not found (looked for ${absolute}; relative paths start at the config file's folder)`,
      ...span,
    });
  }
  return problems;
}

/** `chat_template` names a bundled template or an existing .jinja file (the trainer's rule, config.py). */
function chatTemplateProblems(parsed: ParsedConfig, config: Record<string, unknown>, folder: string, exists: (file: string) => boolean): ConfigProblem[] {
  const value = config.chat_template;
  if (typeof value !== 'string' || value === '') return [];
  const span = nodeSpan(parsed, nodeAt(parsed.document, ['chat_template']));
  if (isTemplateFile(value)) {
    const absolute = path.resolve(folder, value);
    if (exists(absolute)) return [];
    return [{ severity: 'error', code: 'missing-file', field: 'chat_template', message: `chat_template: file "${value}" not found (looked for ${absolute}; relative paths start at the config file's folder)`, ...span }];
  }
  const names = bundledTemplateNames();
  if (names.includes(value)) return [];
  return [{ severity: 'error', code: 'invalid-value', field: 'chat_template', message: `chat_template: must be one of ${names.join(', ')} or a .jinja file, got "${value}"`, ...span }];
}

const sweepKeys = Object.keys((fieldSchemas.sweep as unknown as { properties?: object }).properties ?? {});
const trainFileKeys = Object.keys((fieldSchemas.train_files as unknown as { items?: { properties?: object } }).items?.properties ?? {});

/** `train_files.1.weight` as the trainer names it, `train_files[1].weight`; other fields as they are. */
function label(at: readonly string[]): string {
  if (at[0] !== 'train_files') return at.join('.');
  return at[0] + at.slice(1).map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`)).join('');
}

function nodeSpan(parsed: ParsedConfig, node: YamlNode | undefined): SourceSpan {
  const range = node?.range;
  if (!range) return { line: 1, column: 1, endLine: 1, endColumn: 2 };
  return spanOf(parsed.lineCounter, range[0], Math.max(range[1], range[0] + 1));
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function valueAt(root: unknown, at: readonly string[]): unknown {
  let value = root;
  for (const segment of at) value = isRecord(value) || Array.isArray(value) ? (value as Record<string, unknown>)[segment] : undefined;
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function firstSentence(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const end = text.indexOf('. ');
  return (end === -1 ? text : text.slice(0, end)).replace(/\.$/, '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sortUnique(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const key = `${p.line}:${p.column}:${p.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}
