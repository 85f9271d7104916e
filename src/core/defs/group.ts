import type { Db } from "../db/open";
import { orderedFrom } from "../db/row-order";
import { deleteRows, getRow, upsert } from "../db/rows";
import { NotFoundError, UsageError } from "../errors";
import { validateGroupName } from "../names";
import { dbNodeSource } from "../noderange/db-source";
import type { ListMode } from "./list-edit";

/**
 * xCAT's group objects (mkdef/chdef/rmdef -t group, xCAT-server/lib/xcat/plugins/DBobjectdefs.pm):
 * a static group's membership lives in each member's nodelist.groups, and its nodegroup row
 * only says grouptype=static (nodegroup.members is a placeholder, Schema.pm says so); a
 * dynamic group is nodegroup.grouptype=dynamic with wherevals `attr==v::attr=~re`, resolved by
 * the noderange code (noderange/db-source.ts).
 */
export interface GroupDef {
  grouptype: "static" | "dynamic";
  members: string[];
  wherevals?: string;
}

const splitList = (v: string | null | undefined) =>
  (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export function readGroup(db: Db, group: string): GroupDef | null {
  const row = getRow(db, "nodegroup", { groupname: group });
  const members = dbNodeSource(db).groupMembers(group);
  if (!row && members === undefined) return null;
  if (row?.grouptype === "dynamic") return { grouptype: "dynamic", members: [...(members ?? [])], wherevals: row.wherevals ?? "" };
  return { grouptype: "static", members: [...(members ?? [])] };
}

function nodesGroups(db: Db): Map<string, string[]> {
  const { from, order } = orderedFrom(db, "nodelist");
  const rows = db.all<{ node: string; groups: string | null }>(`SELECT t.node, t.groups FROM ${from} ORDER BY ${order}`);
  return new Map(rows.map((r) => [r.node, splitList(r.groups)]));
}

/** members=... of a static group: each named node gains (or, with -m, loses) the group. */
export function setStaticGroup(db: Db, group: string, members: readonly string[], mode: ListMode): void {
  validateGroupName(group);
  db.write(() => {
    const row = getRow(db, "nodegroup", { groupname: group });
    if (row?.grouptype === "dynamic")
      throw new UsageError(`group ${group} is dynamic: its members come from wherevals`, { hint: "change its wherevals, or remove it and define it again" });
    const all = nodesGroups(db);
    const missing = members.filter((m) => !all.has(m));
    if (missing.length)
      throw new NotFoundError(`Could not find an object named '${missing.join(",")}' of type 'node'.`, {
        hint: "create the nodes first with 'xcimg node set'",
      });
    const wanted = new Set(members);
    const update = (groups: string | null, node: string) => db.run("UPDATE nodelist SET groups = ? WHERE node = ?", groups, node);
    for (const [node, groups] of all) {
      const has = groups.includes(group);
      const want = mode === "remove" ? has && !wanted.has(node) : mode === "append" ? has || wanted.has(node) : wanted.has(node);
      if (want === has) continue;
      const next = want ? [...groups, group] : groups.filter((g) => g !== group);
      update(next.length ? next.join(",") : null, node);
    }
    upsert(db, "nodegroup", { groupname: group }, { grouptype: "static", members: "static" });
  });
}

/** -w conditions of a dynamic group; -p adds conditions, -m removes them (chdef_dynamic_group). */
export function setDynamicGroup(db: Db, group: string, conditions: readonly string[], mode: ListMode): void {
  validateGroupName(group);
  db.write(() => {
    const row = getRow(db, "nodegroup", { groupname: group });
    if (row && row.grouptype !== "dynamic" && (dbNodeSource(db).groupMembers(group)?.length ?? 0) > 0) {
      throw new UsageError(`group ${group} is static and has members`, { hint: `remove it first with 'xcimg group rm ${group}'` });
    }
    const have = (row?.wherevals ?? "").split("::").filter(Boolean);
    const next =
      mode === "replace"
        ? [...conditions]
        : mode === "append"
          ? [...have, ...conditions.filter((c) => !have.includes(c))]
          : have.filter((c) => !conditions.includes(c));
    upsert(db, "nodegroup", { groupname: group }, { grouptype: "dynamic", members: "dynamic", wherevals: next.join("::") || null });
    // a malformed condition fails now (and rolls back), not at the next noderange
    dbNodeSource(db).groupMembers(group);
  });
}

/** rmdef -t group: the nodegroup row goes and no node keeps the group in nodelist.groups. */
export function removeGroup(db: Db, group: string): void {
  db.write(() => {
    validateGroupName(group);
    if (!readGroup(db, group)) throw new NotFoundError(`Could not find an object named '${group}' of type 'group'.`);
    const update = (groups: string | null, node: string) => db.run("UPDATE nodelist SET groups = ? WHERE node = ?", groups, node);
    for (const [node, groups] of nodesGroups(db)) {
      if (!groups.includes(group)) continue;
      const next = groups.filter((g) => g !== group);
      update(next.length ? next.join(",") : null, node);
    }
    deleteRows(db, "nodegroup", { groupname: group });
  });
}
