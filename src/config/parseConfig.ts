import { LineCounter, Node as YamlNode, Document, isMap, isPair, isScalar, isSeq, parseDocument, type YAMLError } from 'yaml';
import { deepestBracket, MAX_DEPTH, yamlLimitProblem } from './yamlLimits';

/** A 1-based source span; end is exclusive, as editors expect. */
export interface SourceSpan {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface ParsedConfig {
  document: Document.Parsed;
  lineCounter: LineCounter;
  /** The plain value, or undefined when the text has syntax errors. */
  value: unknown;
  syntaxErrors: { message: string; span: SourceSpan }[];
}

/**
 * Parses YAML or JSON (JSON is YAML 1.2 flow syntax) keeping node offsets, so every problem can
 * point at the exact key or value that causes it. A text that breaks the syntax or the trainer's limits
 * (yamlLimits.ts) gets one error, the first: what the parser reports after it is mostly its consequence.
 */
export function parseConfigText(text: string): ParsedConfig {
  const lineCounter = new LineCounter();
  // Leading tabs (common in JSON files) are not YAML indentation; swapping each for one space
  // keeps every offset, line and column unchanged. Only in a JSON document: in YAML a tab used as
  // indentation is an error the parser names, where a space would silently nest the line.
  const yamlText = /^\s*[[{]/.test(text) ? text.replace(/^\t+/gm, (tabs) => ' '.repeat(tabs.length)) : text;
  const document = parseDocument(yamlText, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = [...document.errors].sort((a, b) => a.pos[0] - b.pos[0])[0];
  const limit = first ? undefined : yamlLimitProblem(document, yamlText);
  const syntaxErrors = first
    ? [syntaxError(lineCounter, yamlText, first)]
    : limit
      ? [{ message: limit.message, span: spanOf(lineCounter, limit.offset, limit.offset + 1) }]
      : [];
  return {
    document,
    lineCounter,
    // The limits were checked above, with the trainer's rules, so toJS needs no alias cap of its own.
    value: syntaxErrors.length === 0 ? document.toJS({ maxAliasCount: -1 }) : undefined,
    syntaxErrors,
  };
}

function syntaxError(lineCounter: LineCounter, text: string, error: YAMLError): { message: string; span: SourceSpan } {
  if (error.code === 'RESOURCE_EXHAUSTION') {
    // The parser ran out of stack inside brackets nested thousands deep: the trainer's nesting limit, at its place.
    const at = deepestBracket(text) ?? error.pos[0];
    return { message: `nested more than ${MAX_DEPTH} levels deep`, span: spanOf(lineCounter, at, at + 1) };
  }
  return {
    message: syntaxMessage(error.code, error.message),
    span: spanOf(lineCounter, error.pos[0], Math.max(error.pos[1], error.pos[0] + 1)),
  };
}

function syntaxMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'duplicate field: each field may appear only once';
  if (code === 'MULTIPLE_DOCS') return 'a run config is one YAML document: remove this --- line and what follows it, or move that part to a config of its own';
  return `syntax error: ${message}`;
}

export function spanOf(lineCounter: LineCounter, start: number, end: number): SourceSpan {
  const from = lineCounter.linePos(start);
  const to = lineCounter.linePos(end);
  return { line: from.line, column: from.col, endLine: to.line, endColumn: to.col };
}

/** The node at a JSON-pointer-like path of keys, or undefined when the path leaves the tree. */
export function nodeAt(document: Document.Parsed, path: readonly string[]): YamlNode | undefined {
  let node: unknown = document.contents;
  for (const segment of path) {
    if (isMap(node)) {
      node = node.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === segment)?.value;
    } else if (isSeq(node)) {
      node = node.items[Number(segment)];
    } else {
      return undefined;
    }
  }
  return node instanceof Object && 'range' in node ? (node as YamlNode) : undefined;
}

/** The key node of `name` in the mapping at `path` (where an unknown key should be underlined). */
export function keyNodeAt(
  document: Document.Parsed,
  path: readonly string[],
  name: string,
): YamlNode | undefined {
  const parent = path.length === 0 ? document.contents : nodeAt(document, path);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === name);
  return isScalar(pair?.key) ? pair.key : undefined;
}

/** The first key of the mapping at `path`: an anchor for "missing field" that does not paint the whole file. */
export function firstKeyNodeAt(document: Document.Parsed, path: readonly string[]): YamlNode | undefined {
  const parent = path.length === 0 ? document.contents : nodeAt(document, path);
  if (!isMap(parent)) return undefined;
  const key = parent.items[0]?.key;
  return isScalar(key) ? key : undefined;
}
