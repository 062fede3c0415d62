import { LineCounter, Node as YamlNode, Document, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';

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
 * point at the exact key or value that causes it.
 */
export function parseConfigText(text: string): ParsedConfig {
  const lineCounter = new LineCounter();
  // Leading tabs (common in JSON files) are not YAML indentation; swapping each for one space
  // keeps every offset, line and column unchanged.
  const yamlText = text.replace(/^\t+/gm, (tabs) => ' '.repeat(tabs.length));
  const document = parseDocument(yamlText, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntaxErrors = document.errors.map((error) => ({
    message: syntaxMessage(error.code, error.message),
    span: spanOf(lineCounter, error.pos[0], Math.max(error.pos[1], error.pos[0] + 1)),
  }));
  return {
    document,
    lineCounter,
    value: syntaxErrors.length === 0 ? document.toJS({ maxAliasCount: 100 }) : undefined,
    syntaxErrors,
  };
}

function syntaxMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'duplicate field: each field may appear only once';
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
