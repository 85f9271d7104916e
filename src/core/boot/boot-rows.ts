import type { Db } from "../db/open";
import { rowsWhereIn, upsertMany } from "../db/rows";
import type { TableName } from "../db/tables";
import type { Attrs, ObjectType } from "../defs/object";

/**
 * Write the same set of attributes for many nodes, skipping the tables whose row already holds
 * those values: a re-run of `xcimg boot` over 10,000 unchanged nodes then writes nothing, and a
 * switch to another image updates only what changed. The node's OWN row is compared (not its
 * group-inherited value), so the result is exactly what writeObject would have left. The
 * caller holds the transaction.
 */
export function writeNodeRows(db: Db, type: ObjectType, rows: { node: string; attrs: Attrs }[]): number {
  if (rows.length === 0) return 0;
  const tables = new Map<TableName, { attr: string; column: string }[]>();
  for (const attr of Object.keys(rows[0]?.attrs ?? {})) {
    const spec = type.attrs[attr];
    if (!spec) throw new Error(`internal: no node attribute ${attr}`);
    const cols = tables.get(spec.table) ?? [];
    cols.push({ attr, column: spec.column });
    tables.set(spec.table, cols);
  }
  let written = 0;
  for (const [table, cols] of tables) {
    const key = type.keyColumn(table);
    const own = new Map(
      rowsWhereIn(
        db,
        table,
        key,
        rows.map((r) => r.node),
      ).map((r) => [r[key] as string, r]),
    );
    const changed: Record<string, string | null>[] = [];
    for (const { node, attrs } of rows) {
      const cur = own.get(node);
      if (cur && cols.every((c) => (cur[c.column] ?? "") === (attrs[c.attr] ?? ""))) continue;
      const values: Record<string, string | null> = { [key]: node };
      for (const c of cols) values[c.column] = attrs[c.attr] ? (attrs[c.attr] as string) : null;
      changed.push(values);
    }
    // one SQL text for the table's rows (upsert built it anew per row; PostgreSQL gets many rows per statement)
    upsertMany(
      db,
      table,
      [key],
      cols.map((c) => c.column),
      changed,
    );
    written += changed.length;
  }
  return written;
}
