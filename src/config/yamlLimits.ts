// The limits the trainer puts on a config's YAML (trainer/sft_studio/source_map.py), checked on the parsed
// document before it becomes values, with the trainer's positions: an alias bomb would make toJS throw, an alias
// inside its own anchor would build an infinite value, and a tag such as !!binary a value no field can take.
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node as YamlNode } from 'yaml';

/** Uses of `*anchor`, counting those inside the values other aliases copy in. */
export const MAX_ALIASES = 100;
/** Values (scalars and collections) that aliases copy in, all together. */
export const MAX_ALIASED_VALUES = 10_000;
/** Nodes nested in one another, aliases included (the top-level mapping is level 0). */
export const MAX_DEPTH = 100;

export interface LimitProblem {
  message: string;
  /** Offset in the text where the problem is shown. */
  offset: number;
}

const CORE = 'tag:yaml.org,2002:';
const SCALAR_TAGS = new Set(['str', 'int', 'float', 'bool', 'null'].map((t) => CORE + t));

class LimitReached extends Error {
  constructor(readonly problem: LimitProblem) {
    super(problem.message);
  }
}

interface Walk {
  document: Document.Parsed;
  text: string;
  aliases: number;
  aliasedValues: number;
  /** The collections on the branch being walked, to catch an alias that names one of them. */
  open: Set<unknown>;
}

/** The first limit the document breaks, or undefined. `text` is the source, for the position of a tag. */
export function yamlLimitProblem(document: Document.Parsed, text: string): LimitProblem | undefined {
  try {
    walk({ document, text, aliases: 0, aliasedValues: 0, open: new Set() }, document.contents, 0, undefined);
    return undefined;
  } catch (error) {
    if (error instanceof LimitReached) return error.problem;
    throw error;
  }
}

function walk(state: Walk, node: unknown, level: number, outerAlias: YamlNode | undefined): void {
  if (!node) return;
  const at = (n: YamlNode) => n.range?.[0] ?? 0;
  if (isAlias(node)) {
    state.aliases += 1;
    const target = node.resolve(state.document);
    if (target && state.open.has(target)) {
      throw new LimitReached({
        message: `alias *${node.source} is used inside its own anchor's value, which would make it infinite; copy the values it needs instead`,
        offset: at(node),
      });
    }
    if (state.aliases > MAX_ALIASES) {
      // At the alias in the text being read, not one inside the values it copies in.
      throw new LimitReached({ message: `more than ${MAX_ALIASES} aliases are expanded; write the values out instead of aliasing them`, offset: at(outerAlias ?? node) });
    }
    walk(state, target, level, outerAlias ?? node);
    return;
  }
  const yamlNode = node as YamlNode;
  if (outerAlias) {
    state.aliasedValues += 1;
    if (state.aliasedValues > MAX_ALIASED_VALUES) {
      throw new LimitReached({ message: `aliases copy in more than ${MAX_ALIASED_VALUES} values; write the values out instead of aliasing them`, offset: at(outerAlias) });
    }
  }
  if (level >= MAX_DEPTH) {
    throw new LimitReached({ message: `nested more than ${MAX_DEPTH} levels deep`, offset: at(outerAlias ?? yamlNode) });
  }
  checkTag(state, yamlNode);
  if (!isMap(node) && !isSeq(node)) return;
  state.open.add(node);
  for (const item of node.items) {
    if (isPair(item)) {
      let key: unknown = item.key;
      while (isAlias(key)) {
        state.aliases += 1;
        key = key.resolve(state.document);
      }
      if (key && !isScalar(key)) {
        throw new LimitReached({ message: 'a key must be a plain name such as learning_rate, not a list or mapping', offset: at(key as YamlNode) });
      }
      if (key) checkTag(state, key as YamlNode);
      walk(state, item.value, level + 1, outerAlias);
    } else {
      walk(state, item, level + 1, outerAlias);
    }
  }
  state.open.delete(node);
}

function checkTag(state: Walk, node: YamlNode): void {
  const tag = node.tag;
  if (tag === undefined) return;
  const allowed = isMap(node) ? tag === `${CORE}map` : isSeq(node) ? tag === `${CORE}seq` : SCALAR_TAGS.has(tag);
  if (allowed) return;
  const shown = tag.startsWith(CORE) ? `!!${tag.slice(CORE.length)}` : tag;
  throw new LimitReached({
    message: `${shown} values are not supported in a run config; write a plain string, number, true/false, list or mapping`,
    offset: tagStart(state.text, node.range?.[0] ?? 0),
  });
}

/** Where the tag written before the value at `valueStart` begins (the trainer points at the tag). */
function tagStart(text: string, valueStart: number): number {
  let i = valueStart - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t')) i--;
  while (i >= 0 && !/\s/.test(text[i])) i--;
  return i + 1;
}

/**
 * Where a text's flow collections ([ and {) first reach MAX_DEPTH levels, for a document so deeply nested that
 * the parser itself ran out of stack. Quoted strings and comments are skipped; undefined when no bracket does.
 */
export function deepestBracket(text: string): number | undefined {
  // A block mapping at the top is level 0 and its first bracket level 1; a document that is a flow collection
  // starts at level 0 with its own bracket.
  const base = /^\s*[[{]/.test(text) ? -1 : 0;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const close = c === '"' ? /(?:\\.|[^"\\])*"/y : /(?:''|[^'])*'/y;
      close.lastIndex = i + 1;
      if (!close.test(text)) return undefined;
      i = close.lastIndex - 1;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (c === '[' || c === '{') {
      depth += 1;
      if (base + depth >= MAX_DEPTH) return i;
    } else if ((c === ']' || c === '}') && depth > 0) {
      depth -= 1;
    }
  }
  return undefined;
}
