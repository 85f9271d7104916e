import type { Db } from "../db/open";
import { deleteRows, type Row, rowsWhereIn, upsert } from "../db/rows";
import type { TableName } from "../db/tables";
import { UsageError } from "../errors";
import { CONTROL_CHARS, printable } from "../names";

/**
 * xCAT's object layer (lsdef/chdef): an object type is a set of attributes, each stored in one
 * table column, with every table keyed by the object's name. Images span osimage+linuximage;
 * nodes span nodelist, nodetype, noderes, nodehm, mac, hosts, chain, bootparams, postscripts.
 */
export interface AttrSpec {
  table: TableName;
  column: string;
  /** Refuse bad values at `set` time, with a message that says what is valid. */
  validate?: (value: string) => string | null;
  /** The stored spelling of a valid value (architectures: core/arch.ts), or null to keep it. */
  normalize?: (value: string) => string | null;
}

export interface ObjectType {
  kind: "osimage" | "node";
  /** key column per table: imagename or node. */
  keyColumn: (table: TableName) => string;
  attrs: Record<string, AttrSpec>;
}

export type Attrs = Record<string, string>;

export function tablesOf(type: ObjectType): TableName[] {
  return [...new Set(Object.values(type.attrs).map((a) => a.table))];
}

/** Attributes of many objects at once: name → attrs (only objects with at least one row). */
export function readObjects(db: Db, type: ObjectType, names: readonly string[]): Map<string, Attrs> {
  const out = new Map<string, Attrs>();
  const byColumn = new Map<string, string>(); // "table.column" → attr
  for (const [attr, spec] of Object.entries(type.attrs)) byColumn.set(`${spec.table}.${spec.column}`, attr);
  for (const table of tablesOf(type)) {
    const key = type.keyColumn(table);
    for (const row of rowsWhereIn(db, table, key, names)) {
      const name = row[key] as string;
      const attrs = out.get(name) ?? {};
      for (const [col, v] of Object.entries(row)) {
        const attr = byColumn.get(`${table}.${col}`);
        if (attr && col !== key) attrs[attr] = v;
      }
      out.set(name, attrs);
    }
  }
  return out;
}

/**
 * Parse `attr=value` tokens (xCAT chdef syntax). `attr=` clears the attribute. Unknown
 * attributes are refused with the list of valid ones.
 */
export function parseAssignments(type: ObjectType, tokens: readonly string[]): Attrs {
  const out: Attrs = {};
  for (const tok of tokens) {
    const eq = tok.indexOf("=");
    if (eq <= 0) throw new UsageError(`'${tok}' is not attr=value`, { hint: `example: ${type.kind === "node" ? "groups=compute,all" : "provmethod=netboot"}` });
    const attr = tok.slice(0, eq);
    const value = tok.slice(eq + 1);
    const spec = type.attrs[attr];
    if (!spec) {
      throw new UsageError(`'${attr}' is not a valid ${type.kind} attribute`, { hint: `valid attributes: ${Object.keys(type.attrs).sort().join(" ")}` });
    }
    if (spec.column !== "comments" && CONTROL_CHARS.test(value)) {
      throw new UsageError(`invalid ${attr}='${printable(value)}': it contains a control character (newline, tab, ...)`);
    }
    if (value !== "" && spec.validate) {
      const problem = spec.validate(value);
      if (problem) throw new UsageError(`invalid ${attr}=${value}: ${problem}`);
    }
    out[attr] = value;
  }
  return out;
}

/** Write attributes of one object, table by table (caller holds the transaction). */
export function writeObject(db: Db, type: ObjectType, name: string, attrs: Attrs): void {
  const perTable = new Map<TableName, Record<string, string | null>>();
  for (const [attr, value] of Object.entries(attrs)) {
    const spec = type.attrs[attr];
    if (!spec) throw new UsageError(`'${attr}' is not a valid ${type.kind} attribute`);
    const t = perTable.get(spec.table) ?? {};
    t[spec.column] = value === "" ? null : (spec.normalize?.(value) ?? value);
    perTable.set(spec.table, t);
  }
  for (const [table, values] of perTable) upsert(db, table, { [type.keyColumn(table)]: name } as Row, values);
}

export function deleteObject(db: Db, type: ObjectType, name: string): number {
  let n = 0;
  for (const table of tablesOf(type)) n += deleteRows(db, table, { [type.keyColumn(table)]: name });
  return n;
}

/** lsdef's stanza: `Object name: <n>` then `    attr=value` sorted by attribute. */
export function stanza(name: string, attrs: Attrs): string {
  const lines = [`Object name: ${name}`];
  for (const k of Object.keys(attrs).sort()) lines.push(`    ${k}=${attrs[k]}`);
  return lines.join("\n");
}

/** lsdef -i: only the named attributes (all when `list` is undefined). */
export function pick(attrs: Attrs, list: string | undefined): Attrs {
  if (list === undefined) return attrs;
  const want = new Set(list.split(",").map((a) => a.trim()));
  const out: Attrs = {};
  for (const [k, v] of Object.entries(attrs)) if (want.has(k)) out[k] = v;
  return out;
}
