import { basename } from "node:path";
import type { Db } from "../db/open";
import { allRows, deleteRows, getRow, type Row, upsert, upsertMany } from "../db/rows";
import { isTableName, TABLE_NAMES, TABLES, type TableName } from "../db/tables";
import { DataError, NotFoundError, UsageError } from "../errors";
import { cellProblem, normalizeCell } from "./cell-checks";
import { dumpCsv, parseCsv } from "./csv";
import { checkStateliteCell } from "./statelite-cells";

export function requireTable(name: string): TableName {
  if (!isTableName(name)) throw new NotFoundError(`no table named '${name}'`, { hint: `tables: ${TABLE_NAMES.join(", ")}` });
  return name;
}

/** xCAT tabrestore takes the table from the file name: /tmp/site.csv → site. */
export function tableFromFileName(file: string): string {
  return basename(file).replace(/\..*$/, "");
}

export function dumpTable(db: Db, table: TableName): string {
  return dumpCsv(TABLES[table].cols, allRows(db, table));
}

/**
 * tabrestore: replace the table with the file's rows (or add them with addRows), all in one
 * transaction. Any malformed line aborts the whole restore and names the line.
 */
export function restoreTable(db: Db, table: TableName, text: string, file: string, opts: { addRows?: boolean } = {}): number {
  const spec = TABLES[table];
  const parsed = parseCsv(text, file, spec.cols);
  const required = [...spec.keys, ...(("required" in spec ? spec.required : []) as readonly string[])];
  for (const { line, values } of parsed.rows) {
    const missing = required.filter((c) => !values[c]);
    if (missing.length)
      throw new DataError(`${file}:${line}: ${table} row has no ${missing.join(", ")}`, { hint: `${table} needs ${required.join(", ")} on every row` });
    // the checks `node set` and `image set` make, before anything is written: all or nothing
    for (const [col, v] of Object.entries(values)) {
      const problem = cellProblem(table, col, v);
      if (problem) throw new DataError(`${file}:${line}: ${problem}`, { hint: `fix that value in ${file}; nothing was restored` });
    }
  }
  db.write(() => {
    if (!opts.addRows) deleteRows(db, table, {});
    // every row sets every column (absent ones to NULL), as upsert row by row did; cells are
    // normalised as table set does (xCAT's arch names: cell-checks.ts)
    const rows = parsed.rows.map(({ values }) => {
      const out: Record<string, string | undefined> = { ...values };
      for (const c of spec.cols) if (!spec.keys.includes(c as never) && out[c] !== undefined) out[c] = normalizeCell(table, c, out[c] as string);
      return out;
    });
    upsertMany(db, table, spec.keys, spec.cols, rows);
  });
  return parsed.rows.length;
}

/** Parse `k=v[,k=v]` as the key of a row of `table` (chtab's key syntax). */
export function parseRowKey(table: TableName, spec: string): Row {
  const key: Row = {};
  let last = "";
  for (const part of spec.split(",")) {
    const eq = part.indexOf("=");
    // a part without "=" continues the previous value: file=/etc/a,b is the path "/etc/a,b"
    if (eq < 0 && last) {
      key[last] += `,${part}`;
      continue;
    }
    if (eq <= 0) throw new UsageError(`'${part}' is not key=value`, { hint: `key columns of ${table}: ${TABLES[table].keys.join(", ")}` });
    last = part.slice(0, eq);
    key[last] = part.slice(eq + 1);
  }
  const keys = TABLES[table].keys as readonly string[];
  const given = Object.keys(key);
  if (given.length !== keys.length || !keys.every((k) => key[k])) {
    throw new UsageError(`the key of ${table} is ${keys.map((k) => `${k}=...`).join(",")}`, { hint: `got ${spec}` });
  }
  return key;
}

/** chtab: set columns of one row, creating it when absent. */
export function setRow(db: Db, table: TableName, key: Row, assignments: readonly string[]): Row {
  const cols = TABLES[table].cols as readonly string[];
  const values: Record<string, string> = {};
  const appends = new Set<string>();
  for (const a of assignments) {
    const eq = a.indexOf("=");
    // chtab's col+=value appends to the stored value with a comma (xCAT-test/autotest/testcase/chtab/cases0, chtab_modify_key)
    const append = eq > 1 && a[eq - 1] === "+";
    const col = eq > 0 ? a.slice(0, append ? eq - 1 : eq).replace(new RegExp(`^${table}\\.`), "") : "";
    if (!col || !cols.includes(col) || col in key) {
      throw new UsageError(`'${a}' is not column=value for ${table}`, { hint: `columns: ${cols.filter((c) => !(c in key)).join(", ")}` });
    }
    values[col] = normalizeCell(table, col, a.slice(eq + 1));
    if (append) appends.add(col);
  }
  for (const [col, v] of [...Object.entries(key), ...Object.entries(values)]) {
    const problem = cellProblem(table, col, v) ?? checkStateliteCell(table, col, v);
    if (problem) throw new UsageError(problem.trim(), { hint: `${table}.${col}=${v}` });
  }
  const required = ("required" in TABLES[table] ? (TABLES[table] as { required: readonly string[] }).required : []) as readonly string[];
  db.write(() => {
    const existing = getRow(db, table, key);
    for (const col of appends) if (existing?.[col]) values[col] = `${existing[col]},${values[col]}`;
    const missing = required.filter((c) => !(values[c] ?? existing?.[c]));
    if (missing.length) throw new UsageError(`${table} rows need ${missing.join(", ")}`);
    upsert(db, table, key, values);
  });
  return getRow(db, table, key) as Row;
}

export function removeRow(db: Db, table: TableName, key: Row): number {
  return db.write(() => deleteRows(db, table, key));
}
