import type { Db } from "./open";
import { forgetRemoved, orderedFrom, runPlaced, runPlacedMany } from "./row-order";
import { TABLES, type TableName } from "./tables";

/** A table row as xCAT sees it: column → value, with unset columns absent. */
export type Row = Record<string, string>;

const q = (id: string) => `"${id.replace(/"/g, '""')}"`;

function clean(raw: Record<string, unknown>): Row {
  const row: Row = {};
  for (const [k, v] of Object.entries(raw)) if (v !== null && v !== undefined && v !== "") row[k] = String(v);
  return row;
}

/** All rows in insertion (rowid) order, the order xCAT's tabdump prints. */
export function allRows(db: Db, table: TableName): Row[] {
  const { from, order } = orderedFrom(db, table);
  return db.all(`SELECT t.* FROM ${from} ORDER BY ${order}`).map(clean);
}

export function getRow(db: Db, table: TableName, key: Row): Row | null {
  const keys = Object.keys(key);
  const sql = `SELECT * FROM ${q(table)} WHERE ${keys.map((k) => `${q(k)} = ?`).join(" AND ")}`;
  const raw = db.get(sql, ...keys.map((k) => key[k] ?? null));
  return raw ? clean(raw) : null;
}

/** xCAT's Table.pm ignores rows whose `disable` column is set ("1" or "yes"). */
export function isDisabled(row: Row): boolean {
  const d = row.disable?.toLowerCase();
  return d === "1" || d === "yes";
}

/** getRow as xCAT reads a row for use (getAttribs): a disabled row is no row. */
export function enabledRow(db: Db, table: TableName, key: Row): Row | null {
  const row = getRow(db, table, key);
  return row && !isDisabled(row) ? row : null;
}

/** Rows whose `column` equals one of `values`, in insertion order (chunked so 10,000 nodes stay within SQLite limits). */
export function rowsWhereIn(db: Db, table: TableName, column: string, values: readonly string[]): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < values.length; i += 500) {
    const chunk = values.slice(i, i + 500);
    const { from, order } = orderedFrom(db, table);
    const sql = `SELECT t.* FROM ${from} WHERE t.${q(column)} IN (${chunk.map(() => "?").join(",")}) ORDER BY ${order}`;
    out.push(...db.all(sql, ...chunk).map(clean));
  }
  return out;
}

/**
 * xCAT setAttribs: create the row for `key` or update only the given columns of the existing
 * one (its rowid, hence its tabdump position, is kept). An empty or null value clears a column.
 */
export function upsert(db: Db, table: TableName, key: Row, values: Record<string, string | null | undefined>): void {
  const spec = TABLES[table];
  const cols = [...Object.keys(key), ...Object.keys(values).filter((c) => !(c in key))];
  for (const c of cols) if (!(spec.cols as readonly string[]).includes(c)) throw new Error(`internal: ${table} has no column ${c}`);
  const vals = cols.map((c) => {
    const v = c in key ? key[c] : values[c];
    return v === undefined || v === null || v === "" ? null : v;
  });
  const updates = cols.filter((c) => !(c in key));
  const conflict = updates.length
    ? `ON CONFLICT (${spec.keys.map(q).join(", ")}) DO UPDATE SET ${updates.map((c) => `${q(c)} = excluded.${q(c)}`).join(", ")}`
    : "ON CONFLICT DO NOTHING";
  runPlaced(db, table, key, `INSERT INTO ${q(table)} (${cols.map(q).join(", ")}) VALUES (${cols.map(() => "?").join(", ")}) ${conflict}`, vals);
}

/** Delete rows matching every column of `where`; returns how many went. */
export function deleteRows(db: Db, table: TableName, where: Row): number {
  const keys = Object.keys(where);
  const sql = `DELETE FROM ${q(table)}${keys.length ? ` WHERE ${keys.map((k) => `${q(k)} = ?`).join(" AND ")}` : ""}`;
  const { changes } = db.run(sql, ...keys.map((k) => where[k] ?? null));
  if (changes) forgetRemoved(db, table);
  return changes;
}

/** Replace a whole table's contents (tabrestore) with rows in the given order. */
export function replaceTable(db: Db, table: TableName, rows: Row[]): void {
  const spec = TABLES[table];
  deleteRows(db, table, {});
  // a key given twice keeps its first place and its last values, as upserting row by row would
  const byKey = new Map<string, Row>();
  for (const r of rows) {
    const k = JSON.stringify(spec.keys.map((c) => r[c] ?? ""));
    byKey.set(k, r);
  }
  const unique = [...byKey.values()];
  // many rows per statement: one round trip per chunk, not per row (PostgreSQL's bridge costs ~0.1 ms a trip)
  const chunk = Math.max(1, Math.floor(8000 / spec.cols.length));
  const tuple = `(${spec.cols.map(() => "?").join(", ")})`;
  for (let i = 0; i < unique.length; i += chunk) {
    const part = unique.slice(i, i + chunk);
    const sql = `INSERT INTO ${q(table)} (${spec.cols.map(q).join(", ")}) VALUES ${part.map(() => tuple).join(", ")}`;
    const params = part.flatMap((r) => spec.cols.map((c) => (r[c] === undefined || r[c] === "" ? null : (r[c] as string))));
    runPlacedMany(db, table, part, sql, params);
  }
}
