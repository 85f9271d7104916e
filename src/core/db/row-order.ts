import type { Db } from "./open";
import { isTableName, TABLES } from "./tables";

/**
 * Insertion order, the order xCAT's tabdump prints and xcimg's inheritance reads rows in.
 * SQLite keeps it in rowid (an upsert keeps a row's rowid). PostgreSQL has no rowid and moves
 * an updated row physically, so xcimg records each row's first insertion in xcimg_roworder
 * (never touching xCAT's tables) and orders by that; rows only xCAT wrote follow, in the
 * physical order xCAT's own `SELECT *` would give them.
 */
const q = (id: string) => `"${id.replace(/"/g, '""')}"`;
const SEP = "\x1f";

function keyExpr(table: string, alias: string): string | null {
  if (!isTableName(table)) return null;
  return TABLES[table].keys.map((k) => `${alias}.${q(k)}`).join(` || chr(31) || `);
}

/**
 * `FROM <table> t ... ORDER BY ...` pieces for reading `table` in insertion order; select
 * `t.*` or t.-qualified columns, the join adds xcimg_roworder's to PostgreSQL's rows.
 */
export function orderedFrom(db: Db, table: string): { from: string; order: string } {
  if (db.engine === "sqlite") return { from: `${q(table)} t`, order: "t.rowid" };
  const key = keyExpr(table, "t");
  if (!key) return { from: `${q(table)} t`, order: "t.ctid" };
  return {
    from: `${q(table)} t LEFT JOIN xcimg_roworder o ON o.xcimg_table = '${table}' AND o.xcimg_key = ${key}`,
    order: "o.xcimg_seq NULLS LAST, t.ctid",
  };
}

/**
 * `insertSql` (with its params) and the row's place in one statement, one round trip to
 * PostgreSQL: a data-modifying WITH runs whether or not the outer statement reads it.
 */
export function runPlaced(db: Db, table: string, key: Record<string, string | null | undefined>, insertSql: string, params: (string | null)[]): void {
  if (db.engine === "sqlite" || !isTableName(table)) {
    db.run(insertSql, ...params);
    return;
  }
  db.run(`WITH placed AS (${insertSql} RETURNING 1) ${PLACE_SQL}`, ...params, table, placeKey(table, key));
}

/** runPlaced for a multi-row INSERT: the rows' places in the order of its VALUES. */
export function runPlacedMany(
  db: Db,
  table: string,
  keys: readonly Record<string, string | null | undefined>[],
  insertSql: string,
  params: (string | null)[],
): void {
  if (db.engine === "sqlite" || !isTableName(table) || keys.length === 0) {
    db.run(insertSql, ...params);
    return;
  }
  const places = keys.map(() => "(?, ?)").join(", ");
  const placeParams = keys.flatMap((k) => [table, placeKey(table, k)]);
  db.run(
    `WITH placed AS (${insertSql} RETURNING 1) INSERT INTO xcimg_roworder (xcimg_table, xcimg_key) VALUES ${places} ON CONFLICT DO NOTHING`,
    ...params,
    ...placeParams,
  );
}

const PLACE_SQL = `INSERT INTO xcimg_roworder (xcimg_table, xcimg_key) VALUES (?, ?) ON CONFLICT DO NOTHING`;

function placeKey(table: keyof typeof TABLES, key: Record<string, string | null | undefined>): string {
  return TABLES[table].keys.map((c) => key[c] ?? "").join(SEP);
}

/** After deleting rows of `table`: forget the places of rows that are gone, so a re-added row goes last, as in SQLite. */
export function forgetRemoved(db: Db, table: string): void {
  if (db.engine === "sqlite" || !isTableName(table)) return;
  const key = keyExpr(table, "t");
  db.run(`DELETE FROM xcimg_roworder o WHERE o.xcimg_table = ? AND NOT EXISTS (SELECT 1 FROM ${q(table)} t WHERE ${key} = o.xcimg_key)`, table);
}

/** After changing a row's key in place (chdef -n): the row keeps its place under the new key. */
export function movePlaced(db: Db, table: string, from: Record<string, string>, to: Record<string, string>): void {
  if (db.engine === "sqlite" || !isTableName(table)) return;
  db.run("UPDATE xcimg_roworder SET xcimg_key = ? WHERE xcimg_table = ? AND xcimg_key = ?", placeKey(table, to), table, placeKey(table, from));
}
