// A judge that needs no network: the answer that matches the prompt's reference wins; both or
// neither matching is a tie (choice 0). Deterministic, so its two orders always agree.
import { JudgeCallError } from './errors';
import { NO_USAGE, type Choice, type JudgeProvider, type JudgeRequest, type JudgeVerdict, type TokenUsage } from './types';

/** `exact`: equal after trimming (the trainer's exact match). `normalized`: see normalizeAnswer. */
export type MatchMode = 'exact' | 'normalized';

/** Lowercase, drop punctuation, collapse whitespace; NFKC first so full-width and composed forms compare equal. */
export function normalizeAnswer(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\p{P}+/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export function matchesReference(answer: string, reference: string, mode: MatchMode): boolean {
  return mode === 'exact' ? answer.trim() === reference.trim() : normalizeAnswer(answer) === normalizeAnswer(reference);
}

export class ReferenceJudge implements JudgeProvider {
  readonly id: string;

  constructor(readonly mode: MatchMode = 'normalized') {
    this.id = `reference:${mode}`;
  }

  /** Costs nothing, so a spend cap never holds it back. */
  estimateUsage(): TokenUsage {
    return NO_USAGE;
  }

  async judge(request: JudgeRequest): Promise<JudgeVerdict> {
    if (request.reference === undefined) {
      throw new JudgeCallError('the prompt has no reference answer to match against', 'rejected');
    }
    const first = matchesReference(request.answer1, request.reference, this.mode);
    const second = matchesReference(request.answer2, request.reference, this.mode);
    const choice: Choice = first === second ? 0 : first ? 1 : 2;
    const how = this.mode === 'exact' ? 'exactly' : 'after normalisation';
    const argument =
      choice === 0
        ? `${first ? 'both answers match' : 'neither answer matches'} the reference ${how}`
        : `answer ${choice} matches the reference ${how}; answer ${3 - choice} does not`;
    return { choice, argument, usage: NO_USAGE };
  }
}
