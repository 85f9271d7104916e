import { getRow, type Row } from "../db/rows";
import type { Db } from "../db/open";
import type { Attrs, ObjectType } from "./object";
import { parseAssignments } from "./object";

/**
 * chdef's list operators: `attr,=v1,v2` adds values to a comma-separated attribute (groups,
 * postscripts, ...) unless present, `attr^=v` removes them. They read the row and write it
 * back, so they run inside the command's write transaction: two xcimg processes appending to
 * the same node's list at once both land (the write lock serialises them), on SQLite and on
 * PostgreSQL alike.
 */
export interface ListEdit {
  attr: string;
  op: "add" | "remove";
  values: string[];
}

const LIST_OP = /^([A-Za-z0-9_.]+)([,^])=(.*)$/s;

/** Split `attr,=v` / `attr^=v` from plain `attr=v` tokens; values are checked like attr=v's. */
export function splitListEdits(type: ObjectType, tokens: readonly string[]): { plain: string[]; edits: ListEdit[] } {
  const plain: string[] = [];
  const edits: ListEdit[] = [];
  for (const tok of tokens) {
    const m = LIST_OP.exec(tok);
    if (!m) {
      plain.push(tok);
      continue;
    }
    const [, attr = "", op, value = ""] = m;
    parseAssignments(type, [`${attr}=${value}`]); // same attribute and value checks as attr=value
    edits.push({ attr, op: op === "," ? "add" : "remove", values: value.split(",").filter(Boolean) });
  }
  return { plain, edits };
}

/** The object's own values after the edits (caller holds the write transaction). */
export function applyListEdits(db: Db, type: ObjectType, name: string, edits: readonly ListEdit[], pending: Attrs): Attrs {
  const out: Attrs = {};
  for (const e of edits) {
    const spec = type.attrs[e.attr];
    if (!spec) continue;
    const current = out[e.attr] ?? pending[e.attr] ?? getRow(db, spec.table, { [type.keyColumn(spec.table)]: name } as Row)?.[spec.column] ?? "";
    let list = current.split(",").filter(Boolean);
    if (e.op === "add") for (const v of e.values) if (!list.includes(v)) list.push(v);
    if (e.op === "remove") list = list.filter((v) => !e.values.includes(v));
    out[e.attr] = list.join(",");
  }
  return out;
}
