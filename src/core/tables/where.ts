import type { Db } from "../db/open";
import { orderedFrom } from "../db/row-order";
import type { Row } from "../db/rows";
import { TABLES, type TableName } from "../db/tables";
import { UsageError } from "../errors";

/**
 * tabdump -w (perl-xCAT/xCAT/Table.pm buildWhereClause): `attr<op>value`, operators tried in
 * xCAT's order `==`, `=~`, `!=`, `!~`, `<=`, `<`, `>=`, `>`. As in tabdump, `=~` and `!~` are
 * SQL LIKE / NOT LIKE (`%` any run of characters, `_` one; surrounding slashes dropped), so
 * `groups=~all%` finds `all,aix` and `groups!~all` only drops rows whose groups are exactly
 * `all`; the comparisons are SQLite's text comparisons. Several conditions are ANDed. Values
 * are bound as parameters, never pasted into the SQL as xCAT does.
 */
const OPERATORS: [RegExp, string, string][] = [
  [/^[^=]*==/, "==", "="],
  [/^[^=]*=~/, "=~", "LIKE"],
  [/^[^=]*!=/, "!=", "!="],
  [/[^=]*!~/, "!~", "NOT LIKE"],
  [/^[^=]*<=/, "<=", "<="],
  [/^[^=]*</, "<", "<"],
  [/^[^=]*>=/, ">=", ">="],
  [/^[^=]*>/, ">", ">"],
];

export interface Condition {
  column: string;
  sql: string;
  value: string;
}

export function parseCondition(table: TableName, cond: string): Condition {
  for (const [re, op, sql] of OPERATORS) {
    if (!re.test(cond)) continue;
    const at = cond.indexOf(op);
    const column = cond.slice(0, at).replace(new RegExp(`^${table}\\.`), "");
    let value = cond.slice(at + op.length);
    if (sql.includes("LIKE")) value = value.replace(/^\//, "").replace(/\/$/, "");
    if (!(TABLES[table].cols as readonly string[]).includes(column)) {
      throw new UsageError(`No column "${column}" in table "${table}"`, { hint: `columns: ${TABLES[table].cols.join(", ")}` });
    }
    return { column, sql, value };
  }
  throw new UsageError(`Unsupported operator:${cond} on -w flag input`, {
    hint: "use attr==val, attr!=val, attr=~val (SQL LIKE, % matches anything), attr!~val, <, <=, >, >=",
  });
}

/** The rows matching every condition, in tabdump (insertion) order, on SQLite and PostgreSQL (row-order.ts). */
export function rowsWhere(db: Db, table: TableName, conditions: readonly string[]): Row[] {
  const parsed = conditions.map((c) => parseCondition(table, c));
  const where = parsed.map((c) => `t."${c.column}" ${c.sql} ?`).join(" AND ");
  const { from, order } = orderedFrom(db, table);
  const raw = db.all(`SELECT t.* FROM ${from}${where ? ` WHERE ${where}` : ""} ORDER BY ${order}`, ...parsed.map((c) => c.value));
  return raw.map((r) => {
    const row: Row = {};
    for (const [k, v] of Object.entries(r)) if (v !== null && v !== undefined && v !== "") row[k] = String(v);
    return row;
  });
}
