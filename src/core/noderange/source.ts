import { isTableName, TABLES } from "../db/tables";
import { DataError } from "../errors";

/** What noderange expansion needs to know about the cluster; see db-source.ts for the real one. */
export interface NodeSource {
  /** Every defined node name (nodelist table). */
  allNodes(): readonly string[];
  /** Members of a static or dynamic group, or undefined when no such group exists. A defined empty group returns []. */
  groupMembers(group: string): readonly string[] | undefined;
  /** node -> value of table.column for every node that has a row (used by `table.col==val` selectors). Throw DataError for an unknown table/column. */
  attribute(table: string, column: string): ReadonlyMap<string, string>;
  /** site.excludenodes expanded names (may be empty). */
  excludedNodes(): readonly string[];
}

export interface ExpandOptions {
  /** default true: names that are neither nodes nor groups are an error (NotFoundError listing them: `Invalid nodes and/or groups in noderange: a,b`). false: unknown plain names are returned as-is (used by `node set` to create nodes). */
  verify?: boolean;
  /** for XCAT_NODE_PREFIX / XCAT_NODE_SUFFIX; default process.env */
  env?: Record<string, string | undefined>;
  /** for ^file; default node:fs readFileSync */
  readFile?: (path: string) => string;
}

/** The table and column an attribute selector names must exist in our schema. */
export function checkTableColumn(table: string, column: string): void {
  if (!isTableName(table)) throw new DataError(`unknown table '${table}' in noderange attribute selector ${table}.${column}`);
  if (!(TABLES[table].cols as readonly string[]).includes(column)) {
    throw new DataError(`table ${table} has no column '${column}'`, { hint: `its columns are: ${TABLES[table].cols.join(", ")}` });
  }
}

/** An in-memory NodeSource for tests and for callers that already hold the data. */
export function memoryNodeSource(data: {
  nodes: string[];
  groups?: Record<string, string[]>;
  attributes?: Record<string, Record<string, string>> /* "table.col" -> node -> value */;
  excluded?: string[];
}): NodeSource {
  const groups = new Map(Object.entries(data.groups ?? {}));
  const attributes = new Map(Object.entries(data.attributes ?? {}).map(([key, values]) => [key, new Map(Object.entries(values))]));
  return {
    allNodes: () => data.nodes,
    groupMembers: (group) => groups.get(group),
    attribute(table, column) {
      const given = attributes.get(`${table}.${column}`);
      if (given) return given;
      checkTableColumn(table, column);
      return table === "nodelist" && column === "groups" ? groupsColumn(data.nodes, groups) : new Map();
    },
    excludedNodes: () => data.excluded ?? [],
  };
}

/** nodelist.groups rebuilt from group lists, so `groups=~x` works without spelling the column out twice. */
function groupsColumn(nodes: readonly string[], groups: ReadonlyMap<string, string[]>): Map<string, string> {
  const defined = new Set(nodes);
  const byNode = new Map<string, string[]>();
  for (const [group, members] of groups) {
    for (const node of members) {
      if (!defined.has(node)) continue;
      const list = byNode.get(node);
      if (list) list.push(group);
      else byNode.set(node, [group]);
    }
  }
  return new Map([...byNode].map(([node, list]) => [node, list.join(",")]));
}
