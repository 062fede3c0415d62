// The `sweep:` block's checks beyond the schema, the editor's twin of trainer/sft_studio/launch/sweep_config.py: swept
// names are real config fields, listed values are ones the field accepts, ranges only where they can be sampled,
// a budget for random and bayes, and validation data for the objective.
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import type { Node as YamlNode } from 'yaml';
import { didYouMean } from './didYouMean';
import { keyNodeAt, nodeAt, spanOf, type ParsedConfig, type SourceSpan } from './parseConfig';
import { fieldNames, fieldSchemas } from './runConfigSchema';
import type { ConfigProblem } from './configProblem';

/** Fields a sweep sets itself, or that make no sense per trial (the trainer's NOT_SWEPT). */
export const NOT_SWEPT = ['sweep', 'sweep_id', 'sweep_trial', 'output_dir', 'run_name', 'launcher', 'slurm'];
const VALUES_EXAMPLE = 'a list such as [1e-4, 3e-4], {values: [...]}, or (random, bayes) a range {min: 1e-5, max: 1e-3, log: true}';

/** Schema errors inside one parameter are reported once, by sweepProblems, not one per anyOf branch. */
export function isSweepParameterError(error: ErrorObject): boolean {
  return /^\/sweep\/parameters\/[^/]+/.test(error.instancePath);
}

const fieldValidators = new Map<string, ValidateFunction>();
const ajv = new Ajv2020({ strict: false });

function acceptedBy(field: string, value: unknown): boolean {
  let validate = fieldValidators.get(field);
  if (!validate) {
    validate = ajv.compile(fieldSchemas[field] as object);
    fieldValidators.set(field, validate);
  }
  return validate(value);
}

export function sweepProblems(parsed: ParsedConfig, config: Record<string, unknown>, schemaErrors: readonly ErrorObject[]): ConfigProblem[] {
  const sweep = config.sweep;
  if (!isRecord(sweep)) return [];
  const problems: ConfigProblem[] = [];
  const at = (path: string[], message: string, onKey = false, code = 'sweep'): void => {
    const node = onKey ? keyNodeAt(parsed.document, path.slice(0, -1), path[path.length - 1]) : nodeAt(parsed.document, path);
    problems.push({ severity: 'error', code, field: path.join('.'), message, ...span(parsed, node) });
  };
  const broken = new Set(schemaErrors.filter(isSweepParameterError).map((e) => e.instancePath.split('/')[3]));
  const parameters = isRecord(sweep.parameters) ? sweep.parameters : {};
  const method = typeof sweep.method === 'string' ? sweep.method : 'grid';
  for (const [name, spec] of Object.entries(parameters)) {
    const path = ['sweep', 'parameters', name];
    if (!fieldNames.includes(name) || NOT_SWEPT.includes(name)) {
      const suggestion = didYouMean(name, fieldNames.filter((f) => !NOT_SWEPT.includes(f)));
      const why = NOT_SWEPT.includes(name) ? 'is set by the sweep itself' : 'is not a config field';
      at(path, `sweep.parameters.${name} ${why}${suggestion ? `; did you mean "${suggestion}"?` : '; remove it or check the spelling against the schema'}`, true);
      continue;
    }
    if (broken.has(name.replace(/~/g, '~0').replace(/\//g, '~1'))) {
      at(path, `sweep.parameters.${name} must be ${VALUES_EXAMPLE}; got ${describe(spec)}`, false, 'anyOf');
      continue;
    }
    const values = Array.isArray(spec) ? spec : isRecord(spec) && Array.isArray(spec.values) ? spec.values : undefined;
    if (values) {
      const base = Array.isArray(spec) ? path : [...path, 'values'];
      values.forEach((value, i) => {
        if (!acceptedBy(name, value)) at([...base, String(i)], `sweep.parameters.${name}[${i}] is ${describe(value)}, which ${name} does not accept; fix the value or remove it`);
      });
      if (new Set(values.map((v) => JSON.stringify(v))).size < values.length) at(base, `sweep.parameters.${name} lists a value twice; remove the repeat`);
    } else if (isRecord(spec)) {
      rangeProblems(name, spec, method, path, at);
    }
  }
  if ((method === 'random' || method === 'bayes') && sweep.max_trials === undefined) {
    at(['sweep'], `sweep with method: ${method} needs a budget: add max_trials: N (how many trials to run)`, true);
  }
  if (method === 'grid' && sweep.max_trials !== undefined) {
    at(['sweep', 'max_trials'], 'sweep.max_trials applies to random and bayes; a grid runs every combination (remove it, or use method: random)');
  }
  if (!config.validation_file && !config.validation_split_ratio) {
    at(['sweep'], 'a sweep ranks trials by an evaluation metric and this config has no validation data: add validation_file: data/val.jsonl or validation_split_ratio: 0.1', true);
  }
  if (config.eval_strategy === undefined || config.eval_strategy === 'no') {
    at(['sweep'], 'a sweep ranks trials by their evaluations: set eval_strategy: steps (with eval_steps: N) or eval_strategy: epoch', true);
  }
  return problems;
}

function rangeProblems(
  name: string,
  spec: Record<string, unknown>,
  method: string,
  path: string[],
  at: (path: string[], message: string) => void,
): void {
  const { min, max, log } = spec;
  const types = ([] as unknown[]).concat(fieldSchemas[name]?.type ?? []);
  if (method === 'grid') {
    at(path, `sweep.parameters.${name} is a range, which a grid cannot enumerate: list the values (e.g. [${String(min)}, ${String(max)}]) or use method: random or method: bayes with max_trials`);
  } else if (!types.includes('number') && !types.includes('integer')) {
    at(path, `sweep.parameters.${name} is a range, but ${name} is not a number: list its values instead`);
  }
  if (typeof min !== 'number' || typeof max !== 'number') return;
  if (min >= max) at([...path, 'min'], `sweep.parameters.${name} needs min < max, got min ${min} and max ${max}; swap or widen them`);
  if (log === true && min <= 0) at([...path, 'min'], `sweep.parameters.${name} is sampled on a log scale, which needs min > 0, got ${min}; use a positive min such as 1e-6, or log: false`);
  if (types.includes('integer') && !types.includes('number') && !(Number.isInteger(min) && Number.isInteger(max))) {
    at(path, `${name} takes whole numbers: write the range's min and max as whole numbers, got ${min} and ${max}`);
  }
}

function span(parsed: ParsedConfig, node: YamlNode | undefined): SourceSpan {
  const range = node?.range;
  if (!range) return { line: 1, column: 1, endLine: 1, endColumn: 2 };
  return spanOf(parsed.lineCounter, range[0], Math.max(range[1], range[0] + 1));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
