// Editor help for run configs, from schema/run-config.schema.json: hover text, completions and the
// "did you mean" fix. Plain data in and out (offsets, strings) so it is tested without VS Code.
import { isMap, isScalar } from 'yaml';
import { parseConfigText } from './parseConfig';
import { fieldNames, fieldSchemas, type FieldSchema } from './runConfigSchema';

export interface FieldHover {
  field: string;
  markdown: string;
  /** Offsets of the key or value the hover is about. */
  start: number;
  end: number;
}

function typeOf(schema: FieldSchema): string {
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  return (schema.type as string | undefined) ?? 'any';
}

/** `**learning_rate**: number = 5e-05` and the description: the documentation of one field. */
export function fieldDocumentation(field: string): string | undefined {
  const schema = fieldSchemas[field];
  if (!schema) return undefined;
  const fallback = schema.default === undefined ? '' : ` = ${JSON.stringify(schema.default)}`;
  return [`**${field}**: \`${typeOf(schema)}\`${fallback}`, '', schema.description ?? ''].join('\n').trim();
}

/** The documentation of the top-level field whose key or value contains `offset`. */
export function hoverAt(text: string, offset: number): FieldHover | undefined {
  const { document } = parseConfigText(text);
  const root = document.contents;
  if (!isMap(root)) return undefined;
  for (const pair of root.items) {
    if (!isScalar(pair.key) || !pair.key.range) continue;
    const field = String(pair.key.value);
    const keyRange = pair.key.range;
    const valueRange = (pair.value as { range?: [number, number, number] } | null)?.range;
    const start = keyRange[0];
    const end = valueRange ? valueRange[1] : keyRange[1];
    if (offset < start || offset > end) continue;
    const markdown = fieldDocumentation(field);
    return markdown ? { field, markdown, start, end } : undefined;
  }
  return undefined;
}

export interface ConfigCompletion {
  label: string;
  insertText: string;
  detail: string;
  documentation: string;
  kind: 'field' | 'value';
}

const KEY_PREFIX = /^([A-Za-z_][A-Za-z0-9_]*)?$/;
const VALUE_PREFIX = /^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(\S*)$/;

/**
 * Completions for the YAML line before the cursor: at the start of a top-level line the fields not
 * yet in the config; after `field:` its enum values (or true/false).
 */
export function completionsAt(text: string, linePrefix: string): ConfigCompletion[] {
  if (KEY_PREFIX.test(linePrefix)) {
    const present = presentFields(text);
    return fieldNames
      .filter((name) => !present.has(name) || linePrefix === name)
      .map((name) => ({
        label: name,
        insertText: `${name}: `,
        detail: typeOf(fieldSchemas[name]),
        documentation: fieldSchemas[name].description ?? '',
        kind: 'field',
      }));
  }
  const value = VALUE_PREFIX.exec(linePrefix);
  const schema = value ? fieldSchemas[value[1]] : undefined;
  if (!schema) return [];
  const choices = schema.enum ?? (schema.type === 'boolean' ? [true, false] : []);
  return choices.map((choice) => ({
    label: String(choice),
    insertText: String(choice),
    detail: choice === schema.default ? `${value?.[1]} (default)` : (value?.[1] ?? ''),
    documentation: schema.description ?? '',
    kind: 'value',
  }));
}

function presentFields(text: string): Set<string> {
  const root = parseConfigText(text).document.contents;
  const names = new Set<string>();
  if (isMap(root)) for (const pair of root.items) if (isScalar(pair.key)) names.add(String(pair.key.value));
  return names;
}

/** The replacement a `did you mean "x"?` diagnostic proposes, if it proposes one. */
export function suggestedReplacement(message: string): string | undefined {
  return /did you mean "([^"]+)"\?/.exec(message)?.[1];
}
