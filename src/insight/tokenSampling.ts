// The next token from one row of logits, chosen as transformers' generate chooses it (the trainer's
// generations and the PyTorch reference of the chat test use that): greedy takes the first largest logit;
// sampling applies temperature, then top-k, then top-p (nucleus), then draws from what is left.

export interface TokenChoice {
  /** 0 = greedy. */
  temperature: number;
  /** 1 = off. */
  topP: number;
  /** 0 = off. */
  topK: number;
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** `random` returns a number in [0, 1), as Math.random does; tests pass a seeded one. */
export function chooseToken(logits: ArrayLike<number>, choice: TokenChoice, random: () => number = Math.random): number {
  if (choice.temperature <= 0) return argmax(logits);
  const n = logits.length;
  const topK = choice.topK > 0 && choice.topK < n ? choice.topK : 0;
  const topP = choice.topP < 1 ? choice.topP : 1;
  let ids = Array.from({ length: n }, (_, i) => i);
  // Sorting a large vocabulary costs milliseconds per token: only when a filter needs the order.
  if (topK || topP < 1) ids.sort((a, b) => logits[b] - logits[a] || a - b);
  if (topK) {
    // Every token tied with the k-th largest logit stays, as transformers' TopKLogitsWarper keeps them.
    let keep = topK;
    while (keep < n && logits[ids[keep]] >= logits[ids[topK - 1]]) keep++;
    ids = ids.slice(0, keep);
  }
  let max = -Infinity;
  for (const id of ids) max = Math.max(max, logits[id]);
  let weights = ids.map((id) => Math.exp((logits[id] - max) / choice.temperature));
  if (topP < 1) {
    // The smallest set of most likely tokens whose probability reaches top_p (at least one token).
    const total = weights.reduce((sum, w) => sum + w, 0);
    let kept = 0;
    let mass = 0;
    while (kept < weights.length && (kept === 0 || mass < topP * total)) mass += weights[kept++];
    ids = ids.slice(0, kept);
    weights = weights.slice(0, kept);
  }
  let draw = random() * weights.reduce((sum, w) => sum + w, 0);
  for (let i = 0; i < ids.length; i++) {
    draw -= weights[i];
    if (draw < 0) return ids[i];
  }
  return ids[ids.length - 1];
}
