import type { Db } from "./open";
import { forgetRemoved, orderedFrom, runPlaced, runPlacedMany } from "./row-order";
import { TABLES, type TableName } from "./tables";

/** A table row as xCAT sees it: column → value, with unset columns absent. */
export type Row = Record<string, string>;

const q = (id: string) => `"${id.replace(/"/g, '""')}"`;

function clean(raw: Record<string, unknown>): Row {
  const row: Row = {};
  // for-in, not Object.entries: wide tables are mostly NULL, and 10,000 rows × 30 columns of
  // [key, value] pairs were a third of reading 10,000 nodes' attributes
  for (const k in raw) {
    const v = raw[k];
    if (v !== null && v !== undefined && v !== "") row[k] = typeof v === "string" ? v : String(v);
  }
  return row;
}

/** All rows in insertion (rowid) order, the order xCAT's tabdump prints. */
export function allRows(db: Db, table: TableName): Row[] {
  return allRowsRaw(db, table).map(clean);
}

function allRowsRaw(db: Db, table: TableName): Record<string, unknown>[] {
  const { from, order } = orderedFrom(db, table);
  return db.all(`SELECT t.* FROM ${from} ORDER BY ${order}`);
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

/** From this many values on, one scan of the table filtered here beats chunks of IN (...). */
const SCAN_FROM = 2000;

/** Rows whose `column` equals one of `values`, in insertion order (chunked so 10,000 nodes stay within SQLite limits). */
export function rowsWhereIn(db: Db, table: TableName, column: string, values: readonly string[]): Row[] {
  if (values.length >= SCAN_FROM) {
    // 10,000 nodes: 20 statements of 500 bound values each per table cost more than reading
    // the whole table once (a site's tables hold little beyond its nodes and groups)
    const wanted = new Set(values);
    return allRowsRaw(db, table)
      .filter((r) => wanted.has(r[column] as string))
      .map(clean);
  }
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

/**
 * upsert for many rows that set the same columns: one statement, prepared once (a tabrestore
 * of 10,000 rows spent most of its time building and looking up the same SQL text per row).
 */
export function upsertMany(
  db: Db,
  table: TableName,
  keyCols: readonly string[],
  valueCols: readonly string[],
  rows: readonly Record<string, string | null | undefined>[],
): void {
  const spec = TABLES[table];
  const cols = [...keyCols, ...valueCols.filter((c) => !keyCols.includes(c))];
  for (const c of cols) if (!(spec.cols as readonly string[]).includes(c)) throw new Error(`internal: ${table} has no column ${c}`);
  const updates = cols.slice(keyCols.length);
  const conflict = updates.length
    ? `ON CONFLICT (${spec.keys.map(q).join(", ")}) DO UPDATE SET ${updates.map((c) => `${q(c)} = excluded.${q(c)}`).join(", ")}`
    : "ON CONFLICT DO NOTHING";
  const sql = `INSERT INTO ${q(table)} (${cols.map(q).join(", ")}) VALUES (${cols.map(() => "?").join(", ")}) ${conflict}`;
  const value = (r: Record<string, string | null | undefined>, c: string) => {
    const v = r[c];
    return v === undefined || v === null || v === "" ? null : v;
  };
  if (db.engine === "sqlite") {
    // one SQL text: bun:sqlite's query() cache prepares it once for every row (sqlite-driver.ts)
    for (const r of rows) db.run(sql, ...cols.map((c) => value(r, c)));
    return;
  }
  // PostgreSQL: a round trip per row costs ~0.1 ms, so many rows per statement, each row's
  // place recorded in the same statement (row-order.ts). One statement may not touch a key
  // twice, so a key given twice keeps its first place and its last values, as row by row would.
  const byKey = new Map<string, Record<string, string | null | undefined>>();
  for (const r of rows) byKey.set(JSON.stringify(spec.keys.map((k) => r[k] ?? "")), r);
  const unique = [...byKey.values()];
  const chunk = Math.max(1, Math.floor(8000 / cols.length));
  const tuple = `(${cols.map(() => "?").join(", ")})`;
  for (let i = 0; i < unique.length; i += chunk) {
    const part = unique.slice(i, i + chunk);
    const many = `INSERT INTO ${q(table)} (${cols.map(q).join(", ")}) VALUES ${part.map(() => tuple).join(", ")} ${conflict}`;
    runPlacedMany(
      db,
      table,
      part,
      many,
      part.flatMap((r) => cols.map((c) => value(r, c))),
    );
  }
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
