/**
 * Run `fn` for every item with at most `limit` at once (SSH to thousands of nodes must not open
 * thousands of connections), results in the items' order. Stops starting new items once
 * `signal` is aborted.
 */
export async function eachBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      if (signal?.aborted) return;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Default SSH fan-out of node commands (clone --status uses the same). */
export const FANOUT = 32;
