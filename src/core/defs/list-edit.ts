import type { Db } from "../db/open";
import { getRow, type Row } from "../db/rows";
import type { Attrs, ObjectType } from "./object";
import { parseAssignments } from "./object";

/**
 * chdef's list edits, in both of xCAT's spellings: `-p attr=v` / `attr,=v` adds entries to a
 * comma-separated attribute (groups, postscripts, ...) after the stored ones, `-m attr=v` /
 * `attr^=v` takes them out (perl-xCAT/xCAT/DBobjUtils.pm setobjdefs, plus_option/minus_option).
 * The stored value is the object's own row, never an inherited group value, as xCAT reads it.
 * Unlike xCAT, adding does not repeat an entry that is already there (xCAT would write
 * `all,aix,aix`); docs/migrating-from-xcat.md says so.
 *
 * An edit reads the row and writes it back, so it is resolved inside the command's write
 * transaction (resolveListEdits): two xcimg processes appending to the same node's list at once
 * both land (the write lock serialises them), on SQLite and on PostgreSQL alike.
 */
export type ListMode = "replace" | "append" | "remove";

export interface ListEdit {
  attr: string;
  mode: "append" | "remove";
  /** comma-separated entries */
  value: string;
}

const split = (v: string | undefined | null) =>
  (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export function editList(current: string | undefined | null, given: string, mode: ListMode): string {
  if (mode === "replace") return given;
  const have = split(current);
  const change = split(given);
  if (mode === "append") return [...have, ...change.filter((c, i) => !have.includes(c) && change.indexOf(c) === i)].join(",");
  return have.filter((h) => !change.includes(h)).join(",");
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
    edits.push({ attr, mode: op === "," ? "append" : "remove", value });
  }
  return { plain, edits };
}

/**
 * chdef's -p/-m flags and the `,=`/`^=` operators as one list: with -p or -m every plain
 * `attr=v` becomes an edit, otherwise the plain ones replace and the operators edit.
 */
export function listChange(plain: Attrs, edits: readonly ListEdit[], mode: ListMode): { attrs: Attrs; edits: ListEdit[] } {
  if (mode === "replace") return { attrs: plain, edits: [...edits] };
  return { attrs: {}, edits: [...Object.entries(plain).map(([attr, value]) => ({ attr, mode, value })), ...edits] };
}

/**
 * The object's values to write: `attrs` as given, then each edit applied to what the object
 * stores (or to what an earlier edit or `attrs` set for it). Call it inside db.write().
 */
export function resolveListEdits(db: Db, type: ObjectType, name: string, attrs: Attrs, edits: readonly ListEdit[]): Attrs {
  if (!edits.length) return attrs;
  const out: Attrs = { ...attrs };
  for (const e of edits) {
    const spec = type.attrs[e.attr];
    if (!spec) continue;
    const current = out[e.attr] ?? getRow(db, spec.table, { [type.keyColumn(spec.table)]: name } as Row)?.[spec.column] ?? "";
    out[e.attr] = editList(current, e.value, e.mode);
  }
  return out;
}
