import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import { orderedFrom } from "../db/row-order";
import { type Row, rowsWhereIn } from "../db/rows";
import { isTableName, TABLES, type TableName } from "../db/tables";
import { isDisabled } from "../defs/inherit";
import { transRegexAttr } from "../defs/regex-attrs";

/**
 * The table values `#TABLE:...#` and `#CRYPT:...#` read, as xCAT's Template.pm tabdb() sees
 * them: a node's row, else the row of the first of its groups that sets the column (xCAT
 * getNodeAttribs), with regular-expression values computed; other tables by key=value pairs.
 */
export interface TemplateTables {
  /** `undefined` when the column is not set. Throws TableLookupError for unknown tables/columns. */
  nodeValue(table: string, node: string, column: string): string | undefined;
  /** The first enabled row matching every key=value pair. */
  keyedValue(table: string, where: Record<string, string>, column: string): string | undefined;
}

export class TableLookupError extends Error {}

/** Tables keyed by node whose rows groups may also carry (nodelist membership is never inherited). */
const NODE_KEYED = new Set<string>(["nodelist", "nodetype", "noderes", "nodehm", "mac", "hosts", "chain", "bootparams", "postscripts", "statelite"]);

/** site keys that xcimg takes from its config, so templates and xcimg agree on paths and addresses. */
function configSite(config: Config): Record<string, string> {
  return { master: config.master, installdir: config.installdir, tftpdir: config.tftpdir, httpport: String(config["http.port"]) };
}

const q = (id: string) => `"${id.replace(/"/g, '""')}"`;

export function dbTemplateTables(db: Db, config: Config): TemplateTables {
  const groupsCache = new Map<string, string[]>();
  const rowCache = new Map<string, Map<string, Row>>(); // table → key → row

  function groupsOf(node: string): string[] {
    let gs = groupsCache.get(node);
    if (!gs) {
      const row = rowsWhereIn(db, "nodelist", "node", [node]).find((r) => !isDisabled(r));
      gs = (row?.groups ?? "")
        .split(",")
        .map((g) => g.trim())
        .filter(Boolean);
      groupsCache.set(node, gs);
    }
    return gs;
  }

  function rowFor(table: TableName, key: string): Row | undefined {
    let m = rowCache.get(table);
    if (!m) {
      m = new Map();
      rowCache.set(table, m);
    }
    if (!m.has(key)) {
      const row = rowsWhereIn(db, table, "node", [key]).find((r) => !isDisabled(r));
      m.set(key, row ?? ({} as Row));
    }
    const r = m.get(key);
    return r && Object.keys(r).length ? r : undefined;
  }

  function columnsOf(table: string): readonly string[] {
    if (isTableName(table)) return TABLES[table].cols;
    // a table xcimg does not define but the site's database has (e.g. passwd before it is in the schema)
    const cols = db.driver.columns(table);
    if (!cols) throw new TableLookupError(`Unable to open table named ${table}`);
    return cols;
  }

  function checkColumn(table: string, column: string): void {
    if (!columnsOf(table).includes(column)) throw new TableLookupError(`table ${table} has no column ${column}`);
  }

  return {
    nodeValue(table, node, column) {
      if (!NODE_KEYED.has(table) || !isTableName(table)) {
        if (!isTableName(table)) columnsOf(table); // unknown table → "Unable to open table"
        throw new TableLookupError(`table ${table} is not keyed by node; use key=value instead of $NODE`);
      }
      if (table === "nodelist" && column === "node") return node;
      checkColumn(table, column);
      const order = table === "nodelist" ? [node] : [node, ...groupsOf(node)];
      for (const key of order) {
        const v = rowFor(table, key)?.[column];
        if (v === undefined || v === "") continue;
        const computed = transRegexAttr(node, v);
        if (computed !== null) return computed;
      }
      return undefined;
    },
    keyedValue(table, where, column) {
      checkColumn(table, column);
      for (const k of Object.keys(where)) checkColumn(table, k);
      if (table === "site" && where.key !== undefined && Object.keys(where).length === 1) {
        const fromConfig = configSite(config)[where.key];
        if (fromConfig !== undefined) return fromConfig;
      }
      const keys = Object.keys(where);
      const { from, order } = orderedFrom(db, table);
      const sql = `SELECT t.* FROM ${from}${keys.length ? ` WHERE ${keys.map((k) => `t.${q(k)} = ?`).join(" AND ")}` : ""} ORDER BY ${order}`;
      for (const raw of db.all(sql, ...keys.map((k) => where[k] ?? null))) {
        const disabled = String(raw.disable ?? "").toLowerCase();
        if (disabled === "1" || disabled === "yes") continue;
        const v = raw[column];
        if (v !== null && v !== undefined && v !== "") return String(v);
        return undefined;
      }
      return undefined;
    },
  };
}
