/**
 * Start a compression worker (worker.ts). Inside the compiled binary the worker is an extra
 * entry point addressed relative to the bundle root (src/), and `new URL(..., import.meta.url)`
 * would point at the build machine's path (bun.md §3); from source it sits next to this file.
 */
export function spawnCompressWorker(): Worker {
  if (import.meta.url.includes("$bunfs")) return new Worker("./core/compress/worker.ts");
  return new Worker(new URL("./worker.ts", import.meta.url).href);
}
