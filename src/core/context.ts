import type { Config } from "./config/schema";
import type { Db } from "./db/open";
import type { Logger } from "./log";

/**
 * What domain code and provmethod plugins receive: configuration, the database (opened on
 * first use), a logger and the signal that says Ctrl-C was pressed. Tests build one from a
 * temp dir and a real SQLite file; nothing is mocked.
 */
export interface Context {
  readonly config: Config;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly env: Record<string, string | undefined>;
  db(): Db;
}
