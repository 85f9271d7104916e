import type { Db } from "../db/open";
import { TABLES, type TableName } from "../db/tables";
import { NODE_TYPE } from "../defs/node";
import { transRegexAttr } from "../defs/regex-attrs";
import { DataError } from "../errors";
import { expandNoderange } from "./expand";
import { perlSplit } from "./perl-compat";
import { boundedRegex } from "./safe-regex";
import { checkTableColumn, type NodeSource } from "./source";

/** xCAT's Table.pm ignores rows whose disable column says so, everywhere. */
const ENABLED = `("disable" IS NULL OR "disable" IN ('0','no','NO','No','nO'))`;
const q = (id: string) => `"${id.replace(/"/g, '""')}"`;

/**
 * A NodeSource over our copy of xCAT's tables. What it reads is cached until the database
 * changes (through this connection or another), so expanding `n[00001-10000]` asks SQLite a
 * handful of questions, not ten thousand.
 */
export function dbNodeSource(db: Db): NodeSource {
  return new DbNodeSource(db);
}

interface NodegroupRow {
  grouptype: string;
  wherevals: string;
}

class Snapshot {
  readonly nodes: string[] = [];
  /** node → its groups, in nodelist.groups order (the order xCAT inherits values in) */
  readonly groupsOf = new Map<string, string[]>();
  readonly staticMembers = new Map<string, string[]>();
  readonly nodegroups = new Map<string, NodegroupRow>();
  readonly dynamicMembers = new Map<string, string[]>();
  readonly attributes = new Map<string, Map<string, string>>();
  excluded: readonly string[] | undefined;

  constructor(
    db: Db,
    readonly stamp: string,
  ) {
    const nodelist = db.all<{ node: string; groups: string | null }>(`SELECT node, groups FROM nodelist WHERE ${ENABLED}`);
    for (const { node, groups } of nodelist) {
      this.nodes.push(node);
      // xCAT does not trim; we do, since `chdef groups="a, b"` is an easy slip
      const list = (groups ?? "")
        .split(",")
        .map((g) => g.trim())
        .filter(Boolean);
      this.groupsOf.set(node, list);
      for (const g of list) {
        const members = this.staticMembers.get(g);
        if (members) members.push(node);
        else this.staticMembers.set(g, [node]);
      }
    }
    const rows = db.all<{ groupname: string; grouptype: string | null; wherevals: string | null }>(
      `SELECT groupname, grouptype, wherevals FROM nodegroup WHERE ${ENABLED}`,
    );
    for (const r of rows) this.nodegroups.set(r.groupname, { grouptype: r.grouptype ?? "", wherevals: r.wherevals ?? "" });
  }
}

class DbNodeSource implements NodeSource {
  private snap: Snapshot | undefined;

  constructor(private readonly db: Db) {}

  allNodes(): readonly string[] {
    return this.current().nodes;
  }

  groupMembers(group: string): readonly string[] | undefined {
    const snap = this.current();
    const row = snap.nodegroups.get(group);
    // a dynamic definition wins over nodelist.groups entries naming the same group
    if (row?.grouptype === "dynamic") {
      let members = snap.dynamicMembers.get(group);
      if (!members) {
        members = this.dynamicGroupMembers(group, row.wherevals);
        snap.dynamicMembers.set(group, members);
      }
      return members;
    }
    return snap.staticMembers.get(group) ?? (row ? [] : undefined);
  }

  /**
   * node → value, as xCAT's getNodesAttribs sees it: the node's own row, else the row of the
   * first of its groups that sets the column, then regular-expression values computed for the
   * node (so `nodehm.mgt==ipmi` finds nodes whose mgt is set on their group's row).
   */
  attribute(table: string, column: string): ReadonlyMap<string, string> {
    checkTableColumn(table, column);
    const spec = TABLES[table as TableName];
    if (spec.keys.length !== 1 || spec.keys[0] !== "node") {
      throw new DataError(`table ${table} is not keyed by node, so ${table}.${column} cannot select nodes`);
    }
    const snap = this.current();
    const key = `${table}.${column}`;
    const cached = snap.attributes.get(key);
    if (cached) return cached;
    const rows = this.db.all<{ node: string; value: string }>(
      `SELECT node, ${q(column)} AS value FROM ${q(table)} WHERE ${q(column)} IS NOT NULL AND ${q(column)} != '' AND ${ENABLED}`,
    );
    const byKey = new Map(rows.map((r) => [r.node, r.value]));
    const values = new Map<string, string>();
    for (const node of snap.nodes) {
      let raw = byKey.get(node);
      // nodelist.groups is membership itself, never inherited
      if (raw === undefined && table !== "nodelist") {
        for (const g of snap.groupsOf.get(node) ?? []) {
          raw = byKey.get(g);
          if (raw !== undefined) break;
        }
      }
      if (raw === undefined) continue;
      const value = transRegexAttr(node, raw);
      if (value !== null) values.set(node, value);
    }
    snap.attributes.set(key, values);
    return values;
  }

  excludedNodes(): readonly string[] {
    const snap = this.current();
    if (snap.excluded) return snap.excluded;
    const row = this.db.get<{ value: string | null }>(`SELECT value FROM site WHERE "key" = 'excludenodes' AND ${ENABLED}`);
    const range = row?.value ?? "";
    // a retired node left in excludenodes must not make every noderange fail, so unknown names are dropped
    snap.excluded = range === "" ? [] : expandNoderange(range, this, { siteExclusion: false, ignoreMissing: true });
    return snap.excluded;
  }

  /**
   * Members of a dynamic group: nodes matching every `attr<op>value` of nodegroup.wherevals
   * (joined by `::`), as xCAT's DBobjUtils getGroupMembers does. attr is a node attribute
   * name (os, arch, groups, mgt…, or node); a node without a value for it never matches.
   */
  private dynamicGroupMembers(group: string, wherevals: string): string[] {
    const tests = parseWherevals(group, wherevals).map(({ attr, matches }) => {
      if (attr === "node") return (node: string) => matches(node);
      const spec = Object.hasOwn(NODE_TYPE.attrs, attr) ? NODE_TYPE.attrs[attr] : undefined;
      if (!spec) throw new DataError(`dynamic group ${group}: wherevals names unknown node attribute '${attr}'`);
      const values = this.attribute(spec.table, spec.column);
      return (node: string) => {
        const v = values.get(node);
        return v !== undefined && matches(v);
      };
    });
    return this.current().nodes.filter((node) => tests.every((t) => t(node)));
  }

  private current(): Snapshot {
    const stamp = this.stamp();
    if (this.snap?.stamp !== stamp) this.snap = new Snapshot(this.db, stamp);
    return this.snap;
  }

  /** Changes when this connection writes or another one commits (DbDriver.changeStamp). */
  private stamp(): string {
    return this.db.driver.changeStamp();
  }
}

/**
 * xCAT's parse_selection_string: `==`, `=~`, `!=`, `!~`, then a single `=`, tried in that
 * order; the same attribute given twice keeps the last test.
 */
function parseWherevals(group: string, wherevals: string): { attr: string; matches: (v: string) => boolean }[] {
  const byAttr = new Map<string, (v: string) => boolean>();
  for (const cond of perlSplit(wherevals, /::/)) {
    const at = (sep: string) => [cond.slice(0, cond.indexOf(sep)), cond.slice(cond.indexOf(sep) + sep.length)] as const;
    const regex = (src: string) =>
      boundedRegex(
        src.replace(/^\//, "").replace(/\/$/, ""),
        `the wherevals of dynamic group ${group} ('${cond}')`,
        (message, hint) => new DataError(message, { hint }),
      );
    if (/^[^=]*==/.test(cond)) {
      const [attr, val] = at("==");
      byAttr.set(attr, (v) => v === val);
    } else if (/^[^=]*=~/.test(cond)) {
      const [attr, val] = at("=~");
      const re = regex(val);
      byAttr.set(attr, (v) => re.test(v));
    } else if (/^[^=]*!=/.test(cond)) {
      const [attr, val] = at("!=");
      byAttr.set(attr, (v) => v !== val);
    } else if (cond.includes("!~")) {
      const [attr, val] = at("!~");
      const re = regex(val);
      byAttr.set(attr, (v) => !re.test(v));
    } else if (/^[^=]*=[^=]+$/.test(cond)) {
      const [attr, val] = at("=");
      byAttr.set(attr, (v) => v === val);
    } else {
      throw new DataError(`dynamic group ${group}: '${cond}' in wherevals is not attr==value, =~, != or !~`);
    }
  }
  return [...byAttr].map(([attr, matches]) => ({ attr, matches }));
}
