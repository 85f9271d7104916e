import type { Logger } from "./log";

/**
 * Phase timings for commands that run over thousands of nodes, printed as debug lines
 * (`xcimg -v boot ...`): where the time of a slow run went, without a profiler
 * (docs/bench/boot.md was written from these).
 */
export function phaseTimer(log: Logger, what: string): (phase: string) => void {
  let last = performance.now();
  return (phase) => {
    const now = performance.now();
    log.debug(`${what}: ${phase} ${(now - last).toFixed(1)} ms`);
    last = now;
  };
}
