/** The closest of `names` to a mistyped command (edit distance at most 2, or a unique prefix), or null. */
export function nearest(typed: string, names: readonly string[]): string | null {
  const prefixed = names.filter((n) => n.startsWith(typed));
  if (typed.length >= 2 && prefixed.length === 1) return prefixed[0] as string;
  let best: string | null = null;
  let bestDistance = 3;
  for (const n of names) {
    const d = distance(typed, n);
    if (d < bestDistance) {
      best = n;
      bestDistance = d;
    }
  }
  return best;
}

/** Damerau–Levenshtein distance (a swap of two neighbours counts as one edit: "tabdupm"). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}
