/**
 * Optimal-string-alignment distance: like Levenshtein, but a swap of two neighbouring letters
 * ("learnign") counts as one edit, which is the typo people actually make.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[rows - 1][cols - 1];
}

/**
 * Names people bring from other trainers; only used when the target is a real candidate,
 * because edit distance cannot connect `lr` with `learning_rate`.
 */
const aliases: Readonly<Record<string, string>> = {
  lr: 'learning_rate',
  model: 'model_name_or_path',
  model_name: 'model_name_or_path',
  model_path: 'model_name_or_path',
  epochs: 'num_train_epochs',
  batch_size: 'per_device_train_batch_size',
  max_seq_length: 'max_length',
  evaluation_strategy: 'eval_strategy',
  train_data: 'train_file',
  eval_file: 'validation_file',
};

/** The candidate a misspelt `word` most likely meant, or undefined when none is close. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const alias = aliases[lower];
  if (alias !== undefined && candidates.includes(alias)) return alias;

  const limit = Math.max(1, Math.floor(lower.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
