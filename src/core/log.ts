/**
 * The logger the domain sees: a narrow interface so core/ code never imports the CLI, and
 * tests can collect messages. The CLI backs it with consola writing to stderr.
 */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
  /** A progress line (bytes, rate, ETA) — only drawn on a TTY, replaced in place. */
  progress(msg: string): void;
  /** Ends a progress line so the next message starts on a fresh one. */
  progressDone(): void;
}

/** Collects messages in memory; used by tests and by callers that want quiet domain calls. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  info(m: string) {
    this.lines.push(`info: ${m}`);
  }
  warn(m: string) {
    this.lines.push(`warn: ${m}`);
  }
  error(m: string) {
    this.lines.push(`error: ${m}`);
  }
  debug(m: string) {
    this.lines.push(`debug: ${m}`);
  }
  progress(_m: string) {}
  progressDone() {}
}
