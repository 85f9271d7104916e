import type { Db } from "../db/open";
import { isDisabled, type Row, rowsWhereIn } from "../db/rows";
import type { TableName } from "../db/tables";
import type { Attrs, ObjectType } from "./object";
import { tablesOf } from "./object";
import { transRegexAttr } from "./regex-attrs";

/**
 * What xCAT calls a node's attributes: for each column, the node's own row if it sets it,
 * else the first of the node's groups (in nodelist.groups order) whose row sets it; then
 * regular-expression values are computed for the node. This is how sites keep one noderes or
 * hosts row for a whole rack, and it must keep working after they move to xcimg.
 */
export function effectiveAttrs(db: Db, type: ObjectType, nodes: readonly string[]): Map<string, Attrs> {
  const groupsOf = new Map<string, string[]>();
  for (const row of rowsWhereIn(db, "nodelist", "node", nodes)) {
    groupsOf.set(
      row.node as string,
      (row.groups ?? "")
        .split(",")
        .map((g) => g.trim())
        .filter(Boolean),
    );
  }
  const keys = new Set<string>(nodes);
  for (const gs of groupsOf.values()) for (const g of gs) keys.add(g);
  const keyList = [...keys];

  const byColumn = new Map<string, string>();
  for (const [attr, spec] of Object.entries(type.attrs)) byColumn.set(`${spec.table}.${spec.column}`, attr);
  const tableRows = new Map<TableName, Map<string, Row>>();
  for (const table of tablesOf(type)) {
    const key = type.keyColumn(table);
    const m = new Map<string, Row>();
    for (const row of rowsWhereIn(db, table, key, keyList)) if (!isDisabled(row)) m.set(row[key] as string, row);
    tableRows.set(table, m);
  }

  const out = new Map<string, Attrs>();
  for (const node of nodes) {
    if (!groupsOf.has(node)) continue; // not a defined node
    const attrs: Attrs = {};
    const lookups = [node, ...(groupsOf.get(node) ?? [])];
    for (const [table, rows] of tableRows) {
      const order = table === "nodelist" ? [node] : lookups; // group membership itself is never inherited
      const key = type.keyColumn(table);
      for (const k of order) {
        const row = rows.get(k);
        if (!row) continue;
        for (const col in row) {
          const v = row[col] as string;
          const attr = byColumn.get(`${table}.${col}`);
          if (!attr || col === key || col === "disable" || attr in attrs) continue;
          const value = transRegexAttr(node, v);
          if (value !== null) attrs[attr] = value;
        }
      }
    }
    out.set(node, sortKeys(attrs));
  }
  return out;
}

export { isDisabled } from "../db/rows";

function sortKeys(a: Attrs): Attrs {
  const out: Attrs = {};
  for (const k of Object.keys(a).sort()) out[k] = a[k] as string;
  return out;
}
