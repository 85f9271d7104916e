import { existsSync } from "node:fs";
import { DataError, NotFoundError, UsageError, XcimgError } from "../errors";
import { type Db, openDb } from "./open";
import { PgDataError } from "./pg-driver";
import { allRows, replaceTable } from "./rows";
import { TABLE_NAMES } from "./tables";
import { isPostgresUrl, sqlitePathOf } from "./url";

/**
 * `xcimg db copy`: move a site between SQLite and PostgreSQL (either way), what xCAT does with
 * dumpxCATdb on one backend and restorexCATdb on the other. Every table xcimg knows and its
 * own xcimg_capture are copied in tabdump order, in one write transaction on the target read
 * from one snapshot of the source: a failure anywhere leaves the target as it was. A target
 * with rows is refused unless `replace` (restorexCATdb replaces; doing it by accident loses a
 * site). Tables and columns xcimg does not know are named, not copied.
 */
export interface CopyResult {
  tables: { table: string; rows: number }[];
  /** Tables of the source xcimg does not know (xCAT's networks, ...), left behind. */
  skipped: string[];
}

const OWN_TABLES = ["xcimg_capture"] as const;

function openSource(target: string): Db {
  if (!isPostgresUrl(target)) {
    const path = sqlitePathOf(target);
    // openDb would create an empty database: a typo must not look like an empty site
    if (path !== ":memory:" && !existsSync(path))
      throw new NotFoundError(`no SQLite database at ${path}`, { hint: "give the file db.path names, e.g. /var/lib/xcimg/xcimg.db" });
  }
  return openDb(target);
}

function allTables(db: Db): string[] {
  if (db.engine === "sqlite")
    return db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").map((r) => r.name);
  return db.all<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()").map((r) => r.name);
}

/** A row the target refuses (xCAT's VARCHAR(128) keys on PostgreSQL, ...) aborts the whole copy, naming the table. */
function refuseFailure(table: string, dst: Db, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof XcimgError && !(e instanceof PgDataError)) throw e;
    throw new DataError(`cannot copy table ${table} into ${dst.path}: ${(e as Error).message}; nothing was copied`, {
      hint: "fix that row in the source (xcimg table set / table rm), then copy again",
    });
  }
}

function rowCount(db: Db, table: string): number {
  return Number(db.get<{ n: number | string }>(`SELECT count(*) AS n FROM "${table}"`)?.n ?? 0);
}

export function copyDatabase(from: string, to: string, opts: { replace?: boolean } = {}): CopyResult {
  const src = openSource(from);
  try {
    const dst = openDb(to);
    try {
      if (src.driver.target === dst.driver.target) throw new UsageError("source and target are the same database");
      return copyBetween(src, dst, opts);
    } finally {
      dst.close();
    }
  } finally {
    src.close();
  }
}

function copyBetween(src: Db, dst: Db, opts: { replace?: boolean }): CopyResult {
  const known = new Set<string>([...TABLE_NAMES, ...OWN_TABLES]);
  const skipped = allTables(src)
    .filter((t) => !known.has(t) && !t.startsWith("xcimg_"))
    .sort();
  if (!opts.replace) {
    const full = [...known].filter((t) => rowCount(dst, t) > 0);
    if (full.length) {
      throw new UsageError(`the target ${dst.path} already has rows in ${full.join(", ")}`, {
        hint: "copy into an empty database, or add --replace to overwrite those tables (restorexCATdb does)",
      });
    }
  }
  // one snapshot of the source, so a writer on it cannot tear the copy
  src.exec(src.engine === "sqlite" ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    const tables: CopyResult["tables"] = [];
    dst.write(() => {
      for (const t of TABLE_NAMES) {
        const rows = allRows(src, t);
        refuseFailure(t, dst, () => replaceTable(dst, t, rows));
        tables.push({ table: t, rows: rows.length });
      }
      for (const t of OWN_TABLES) {
        const rows = src.all(`SELECT * FROM "${t}"`);
        refuseFailure(t, dst, () => {
          dst.run(`DELETE FROM "${t}"`);
          for (const r of rows) {
            const cols = Object.keys(r);
            dst.run(
              `INSERT INTO "${t}" (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
              ...cols.map((c) => (r[c] ?? null) as string | number | null),
            );
          }
        });
        tables.push({ table: t, rows: rows.length });
      }
    });
    return { tables, skipped };
  } finally {
    src.exec("COMMIT");
  }
}
