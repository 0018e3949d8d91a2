/** Edit distance, for did-you-mean hints. */
export function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The closest candidate, if it is close enough to be a plausible typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    // Rule ids are often typed without their pack: `unsafe-load` for `pyyaml/unsafe-load`.
    const score = Math.min(
      distance(lower, c.toLowerCase()),
      c.endsWith(`/${lower}`) ? 0.5 : Number.POSITIVE_INFINITY,
    );
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export function hint(word: string, candidates: readonly string[]): string {
  const s = didYouMean(word, candidates);
  return s ? ` (did you mean "${s}"?)` : "";
}
