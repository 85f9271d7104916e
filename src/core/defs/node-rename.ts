import type { Db } from "../db/open";
import { movePlaced } from "../db/row-order";
import { TABLES, type TableName } from "../db/tables";
import { NotFoundError, UsageError } from "../errors";
import { validateNodeName } from "../names";

/** Every table whose rows belong to one node (its key is the node name): those a rename moves. */
export function nodeKeyedTables(): TableName[] {
  return (Object.keys(TABLES) as TableName[]).filter((t) => {
    const keys = TABLES[t].keys as readonly string[];
    return keys.length === 1 && keys[0] === "node";
  });
}

/**
 * chdef <node> -n <new> (xCAT-server/lib/xcat/plugins/DBobjectdefs.pm, defch's -n): the node's
 * rows in every node-keyed table move to the new name in one transaction, so nothing is left
 * half-renamed. Group rows are not touched (a group is not a node). Boot files already written
 * for the old name stay until the next `boot`.
 */
export function renameNode(db: Db, from: string, to: string): TableName[] {
  validateNodeName(from);
  validateNodeName(to);
  const exists = (n: string) => db.get("SELECT 1 AS one FROM nodelist WHERE node = ?", n) !== null;
  return db.write(() => {
    if (!exists(from)) throw new NotFoundError(`Could not find an object named '${from}' of type 'node'.`, { hint: "list nodes with 'xcimg node list'" });
    if (exists(to)) throw new UsageError(`node '${to}' already exists`, { hint: `remove it first with 'xcimg node rm ${to}', or pick another name` });
    const moved: TableName[] = [];
    for (const t of nodeKeyedTables()) {
      if (db.run(`UPDATE "${t}" SET node = ? WHERE node = ?`, to, from).changes === 0) continue;
      movePlaced(db, t, { node: from }, { node: to }); // PostgreSQL: keep its tabdump place (row-order.ts)
      moved.push(t);
    }
    return moved;
  });
}
