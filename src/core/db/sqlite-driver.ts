import type { Database } from "bun:sqlite";
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

  changeStamp(): string {
    const { data_version } = this.get("PRAGMA data_version") as { data_version: number };
    const { n } = this.get("SELECT total_changes() AS n") as { n: number };
    return `${data_version}:${n}`;
  }

  close(): void {
    this.sqlite.close();
  }
}
