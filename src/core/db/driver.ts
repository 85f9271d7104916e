/**
 * The one seam between xcimg and its database engine. Every caller speaks this small,
 * synchronous interface with `?` placeholders and SQL both engines accept (double-quoted
 * identifiers, INSERT ... ON CONFLICT); the drivers translate the rest. Synchronous because
 * xCAT's table semantics (NodeRange.pm's recursion, inheritance) are evaluated synchronously
 * everywhere: the PostgreSQL driver bridges its async client through a Worker (pg-driver.ts).
 */
export type Param = string | number | null;
export type RawRow = Record<string, unknown>;

export type Engine = "sqlite" | "postgresql";

export interface DbDriver {
  readonly engine: Engine;
  /** Where the data lives, for messages and for a worker to reopen it (never holds a password). */
  readonly location: string;
  /** What openDriver() takes to reach the same data from a worker (may hold a password: never print it). */
  readonly target: string;
  all(sql: string, params?: readonly Param[]): RawRow[];
  get(sql: string, params?: readonly Param[]): RawRow | null;
  run(sql: string, params?: readonly Param[]): { changes: number };
  /** One or more statements without parameters. */
  exec(sql: string): void;
  /** Start the one write transaction of a command; writers of every xcimg process serialise here. */
  beginWrite(): void;
  commit(): void;
  rollback(): void;
  /** The columns of a table in the database, in order, or null when there is no such table. */
  columns(table: string): string[] | null;
  /** Changes whenever this or another connection has committed writes (caches key on it). */
  changeStamp(): string;
  close(): void;
}
