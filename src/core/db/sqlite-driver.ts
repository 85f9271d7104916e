import type { Database, Statement } from "bun:sqlite";
import type { DbDriver, Param, RawRow } from "./driver";

/** bun:sqlite behind the DbDriver seam; its statements are cached by bun:sqlite's query(). */
export class SqliteDriver implements DbDriver {
  readonly engine = "sqlite" as const;

  constructor(
    readonly sqlite: Database,
    readonly location: string,
  ) {}

  get target(): string {
    return this.location;
  }

  all(sql: string, params: readonly Param[] = []): RawRow[] {
    return this.sqlite.query(sql).all(...(params as Param[])) as RawRow[];
  }

  get(sql: string, params: readonly Param[] = []): RawRow | null {
    return (this.sqlite.query(sql).get(...(params as Param[])) as RawRow | null) ?? null;
  }

  run(sql: string, params: readonly Param[] = []): { changes: number } {
    return { changes: this.sqlite.query(sql).run(...(params as Param[])).changes };
  }

  exec(sql: string): void {
    this.sqlite.exec(sql);
  }

  /** IMMEDIATE takes the write lock at BEGIN, so two writers wait (busy_timeout) instead of deadlocking on upgrade. */
  beginWrite(): void {
    this.sqlite.exec("BEGIN IMMEDIATE");
  }

  commit(): void {
    this.sqlite.exec("COMMIT");
  }

  rollback(): void {
    if (this.sqlite.inTransaction) this.sqlite.exec("ROLLBACK");
  }

  columns(table: string): string[] | null {
    if (!this.get("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", [table])) return null;
    return (this.all(`PRAGMA table_info("${table.replace(/"/g, '""')}")`) as { name: string }[]).map((c) => c.name);
  }

  /**
   * data_version moves when another connection commits, total_changes when this one writes.
   * Prepared once, read as arrays: a noderange of a million names asks once per name.
   */
  changeStamp(): string {
    this.stamps ??= [this.sqlite.prepare("PRAGMA data_version"), this.sqlite.prepare("SELECT total_changes()")];
    return `${this.stamps[0].values()[0]?.[0]}:${this.stamps[1].values()[0]?.[0]}`;
  }

  private stamps: [Statement, Statement] | undefined;

  close(): void {
    this.sqlite.close();
  }
}
