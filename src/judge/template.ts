import * as fs from 'node:fs';
import { JudgeInputError } from './errors';
import type { JudgePair, JudgeRequest, Order } from './types';

export const PLACEHOLDERS = ['instruction', 'answer_1', 'answer_2', 'reference'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** Stands in for `{{reference}}` when a prompt has no reference answer. */
export const NO_REFERENCE = '(none)';

/**
 * The default judge prompt. It asks what the instruction-tuning judge asks: does the answer follow
 * the instruction, does it use the context or input it was given, is it correct; 0 when the two
 * are equivalent. How to reply (tool call or JSON) is said by the provider, not here, so a
 * replacement template only has to describe the comparison.
 */
export const DEFAULT_TEMPLATE = `We would like your judgement on two answers to the same instruction.

[Instruction]
{{instruction}}
[End of instruction]

[Reference answer, if any]
{{reference}}
[End of reference answer]

[Answer 1]
{{answer_1}}
[End of answer 1]

[Answer 2]
{{answer_2}}
[End of answer 2]

Decide which answer is better. Consider, in this order:
1. Does the answer follow the instruction and do what it asks?
2. Does it use the context or input given with the instruction, instead of ignoring it?
3. Is it correct? Where a reference answer is given, an answer that agrees with it is correct.
Judge the content only: not the length, the style, or which answer is shown first.
Choose 1 or 2 for the better answer, or 0 if they are equivalent (equally good or equally bad).
Give a short argument for your choice.`;

const PLACEHOLDER_PATTERN = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** Checks a template's placeholders; throws a JudgeInputError naming the problem. */
export function validateTemplate(template: string, source = 'template'): void {
  const used = new Set<string>();
  for (const match of template.matchAll(PLACEHOLDER_PATTERN)) used.add(match[1]);
  const unknown = [...used].filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new JudgeInputError(
      `${source}: unknown placeholder ${unknown.map((n) => `{{${n}}}`).join(', ')}; ` +
        `known: ${PLACEHOLDERS.map((n) => `{{${n}}}`).join(', ')}`,
    );
  }
  for (const required of ['answer_1', 'answer_2']) {
    if (!used.has(required)) {
      throw new JudgeInputError(`${source}: the template must contain {{${required}}} so the judge sees both answers`);
    }
  }
}

export function loadTemplateFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new JudgeInputError(`cannot read template ${file}: ${(error as Error).message}`);
  }
  validateTemplate(text, file);
  return text;
}

/** Fills every placeholder in one pass, so answer text that looks like a placeholder stays literal. */
export function renderTemplate(template: string, values: Record<Placeholder, string>): string {
  return template.replace(PLACEHOLDER_PATTERN, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name) ? values[name as Placeholder] : whole,
  );
}

/** The request for one order of a pair: `ab` shows A as answer 1, `ba` shows B as answer 1. */
export function buildRequest(pair: JudgePair, order: Order, template: string): JudgeRequest {
  const [answer1, answer2] = order === 'ab' ? [pair.a, pair.b] : [pair.b, pair.a];
  const prompt = renderTemplate(template, {
    instruction: pair.prompt,
    answer_1: answer1,
    answer_2: answer2,
    reference: pair.reference ?? NO_REFERENCE,
  });
  const request: JudgeRequest = { instruction: pair.prompt, answer1, answer2, prompt };
  if (pair.reference !== undefined) request.reference = pair.reference;
  return request;
}
