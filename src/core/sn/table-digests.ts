import type { Db } from "../db/open";
import { allRows } from "../db/rows";
import { TABLE_NAMES } from "../db/tables";

/**
 * One digest per xCAT table, the same for the same rows whatever their order or the database
 * (SQLite's rowid order, PostgreSQL's recorded order, a snapshot's copy): each row as its
 * sorted `column=value` pairs, unset columns left out, the rows' texts sorted. `sn snapshot`
 * notes them for the snapshot an SN fetched (sync-record.ts) and `sn status` compares them with
 * the MN's tables now, so it can say which tables an SN lags behind, on PostgreSQL as on SQLite.
 */
export function tableDigests(db: Db): Record<string, string> {
  const out: Record<string, string> = {};
  for (const table of TABLE_NAMES) {
    if (db.driver.columns(table) === null) continue;
    const rows = allRows(db, table).map((r) =>
      Object.keys(r)
        .sort()
        .map((k) => `${k}=${JSON.stringify(r[k])}`)
        .join(","),
    );
    rows.sort();
    out[table] = Bun.SHA256.hash(`${rows.length}\n${rows.join("\n")}`, "base64") as unknown as string;
  }
  return out;
}

/** The tables whose digest differs, or that only one side has. */
export function changedTables(then: Record<string, string>, now: Record<string, string>): string[] {
  const names = new Set([...Object.keys(then), ...Object.keys(now)]);
  return [...names].filter((t) => then[t] !== now[t]).sort();
}
