// One training example as the label-mask preview shows it: each token's text, and whether the loss
// trains on it.
import type { ExamplePreview } from '../protocol/tokens';
import { IGNORE_INDEX } from './conversationEncoder';
import type { LineExample } from './tokenStats';

export function examplePreview(index: number, example: LineExample, tokenText: (id: number) => string): ExamplePreview {
  return {
    index,
    line: example.line,
    truncated: example.truncated,
    rendered: example.rendered,
    tokens: example.inputIds.map((id, k) => ({ id, text: tokenText(id), trained: example.labels[k] !== IGNORE_INDEX })),
  };
}
