import { archProblem, canonicalArch } from "../arch";
import { bootLineProblem } from "../boot/boot-values";
import type { Db } from "../db/open";
import { deleteRows, getRow, upsert } from "../db/rows";
import { TABLES, type TableName } from "../db/tables";
import { validateGroupName, validateNodeName } from "../names";
import { effectiveAttrs } from "./inherit";
import { type AttrSpec, type Attrs, deleteObject, type ObjectType, writeObject } from "./object";

/** Boot loaders xcimg writes configs for (noderes.netboot). */
export const NETBOOT_LOADERS = ["xnba", "grub2", "grub2-tftp", "grub2-http", "pxe"] as const;

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HOST = /^[A-Za-z0-9][A-Za-z0-9.:_-]*$/;
const COMPONENT = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

function validMacList(v: string): string | null {
  // xCAT: "aa:bb:..", or "mac!host|mac!host" for several NICs
  for (const part of v.split("|")) {
    const mac = part.split("!")[0] ?? "";
    if (!MAC.test(mac)) return `'${mac}' is not a MAC address like 52:54:00:12:34:56`;
  }
  return null;
}

const validators: Record<string, (v: string) => string | null> = {
  groups: (v) => {
    for (const g of v.split(",")) validateGroupName(g.trim());
    return null;
  },
  mac: validMacList,
  ip: (v) => (IPV4.test(v) ? null : "ip must be an IPv4 address like 10.0.0.11"),
  netboot: (v) => ((NETBOOT_LOADERS as readonly string[]).includes(v) ? null : `netboot must be one of ${NETBOOT_LOADERS.join(", ")}`),
  arch: (v) => archProblem("arch", v),
  os: (v) => (COMPONENT.test(v) ? null : "os is used in paths: letters, digits and . _ + - only"),
  profile: (v) => (COMPONENT.test(v) ? null : "profile is used in paths: letters, digits and . _ + - only"),
  provmethod: (v) => (COMPONENT.test(v) ? null : "provmethod is an osimage name (or install, netboot, statelite)"),
  serialport: (v) => (/^\d+$/.test(v) ? null : "serialport is the serial port number, e.g. 0 for ttyS0"),
  serialspeed: (v) => (/^\d+$/.test(v) ? null : "serialspeed is a baud rate such as 115200"),
  addkcmdline: (v) => bootLineProblem(v),
  tftpserver: (v) => (HOST.test(v) ? null : "tftpserver is a host name or IP address"),
  nfsserver: (v) => (v === "<xcatmaster>" || HOST.test(v) ? null : "nfsserver is a host name, an IP address or <xcatmaster>"),
  xcatmaster: (v) => (/^[A-Za-z0-9.:-]+$/.test(v) ? null : "xcatmaster is a host name or IP address"),
  installnic: (v) => (/^[A-Za-z0-9.:_-]+$/.test(v) ? null : "installnic is an interface name or MAC address"),
};

/** xCAT attribute names that differ from their column names. */
const RENAMED: Record<string, string> = { "noderes.proxydhcp": "supportproxydhcp", "nodelist.comments": "usercomment" };
const NODE_TABLES: TableName[] = ["nodelist", "nodetype", "noderes", "nodehm", "mac", "hosts", "chain", "bootparams", "postscripts"];

function nodeAttrs(): Record<string, AttrSpec> {
  const attrs: Record<string, AttrSpec> = {};
  for (const table of NODE_TABLES) {
    for (const col of TABLES[table].cols as readonly string[]) {
      if (col === "node" || col === "disable" || (col === "comments" && table !== "nodelist")) continue;
      const attr = RENAMED[`${table}.${col}`] ?? col;
      if (attr in attrs) continue;
      attrs[attr] = { table, column: col, validate: validators[attr], normalize: attr === "arch" ? canonicalArch : undefined };
    }
  }
  return attrs;
}

export const NODE_TYPE: ObjectType = { kind: "node", keyColumn: () => "node", attrs: nodeAttrs() };

export function listNodes(db: Db): string[] {
  return db
    .all<{ node: string }>("SELECT node FROM nodelist")
    .map((r) => r.node)
    .sort();
}

/** Each node's effective attributes: own rows, then group rows, regex values computed. */
export function readNodes(db: Db, names: readonly string[]): Map<string, Attrs> {
  return effectiveAttrs(db, NODE_TYPE, names);
}

/**
 * chdef/mkdef for many nodes in one transaction. A node that does not exist yet is created in
 * nodelist; without groups= it joins "all", the group every xCAT site uses.
 */
export function setNodes(db: Db, names: readonly string[], given: Attrs | ((node: string) => Attrs)): { created: string[] } {
  for (const n of names) validateNodeName(n);
  const created: string[] = [];
  db.write(() => {
    // read under the write lock: a node another xcimg created a moment ago is not new any more
    const existing = new Set(db.all<{ node: string }>("SELECT node FROM nodelist").map((r) => r.node));
    for (const name of names) {
      const isNew = !existing.has(name);
      if (isNew) created.push(name);
      // per node for chdef -p/-m and ,=/^=, whose result depends on what each node stores: the
      // function runs here, under the write lock, so a concurrent append is read, not lost (defs/list-edit.ts)
      const attrs = typeof given === "function" ? given(name) : given;
      const a: Attrs = isNew && !attrs.groups ? { groups: "all", ...attrs } : { ...attrs };
      if (a.mac) a.mac = a.mac.toLowerCase();
      writeObject(db, NODE_TYPE, name, a);
      if (isNew && !getRow(db, "nodelist", { node: name })) upsert(db, "nodelist", { node: name }, { groups: "all" });
    }
  });
  return { created };
}

export function removeNodes(db: Db, names: readonly string[]): void {
  db.write(() => {
    for (const n of names) {
      deleteObject(db, NODE_TYPE, n);
      deleteRows(db, "statelite", { node: n });
    }
  });
}
