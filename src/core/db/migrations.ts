import { TABLES, type TableName, type TableSpec } from "./tables";

/**
 * Schema versions, applied in order inside one IMMEDIATE transaction and recorded in
 * PRAGMA user_version. Never edit a released migration: add the next one.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string[];
}

const q = (id: string) => `"${id.replace(/"/g, '""')}"`;

export function createTableSql(name: string, spec: TableSpec, ifNotExists = false): string {
  const cols = spec.cols.map((c) => `${q(c)} TEXT${spec.keys.includes(c) ? " NOT NULL" : ""}`);
  cols.push(`UNIQUE (${spec.keys.map(q).join(", ")})`);
  return `CREATE TABLE ${ifNotExists ? "IF NOT EXISTS " : ""}${q(name)} (${cols.join(", ")})`;
}

/** The tables of schema version 1, frozen: tables added later come with their own migration. */
const V1_TABLES: TableName[] = [
  "site",
  "nodelist",
  "nodegroup",
  "nodetype",
  "noderes",
  "nodehm",
  "mac",
  "hosts",
  "chain",
  "bootparams",
  "osimage",
  "linuximage",
  "litefile",
  "litetree",
  "statelite",
  "postscripts",
];

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "xCAT tables (Schema.pm column names and order)",
    sql: V1_TABLES.map((name) => createTableSql(name, TABLES[name])),
  },
  {
    version: 2,
    description: "xcimg_capture: what each capture found on the golden node (OS, kernels, disk layout, mounts, excludes)",
    sql: [
      `CREATE TABLE "xcimg_capture" (
        "imagename" TEXT NOT NULL PRIMARY KEY,
        "node" TEXT, "address" TEXT, "type" TEXT, "rootdir" TEXT, "tree" TEXT,
        "started" TEXT, "finished" TEXT, "seconds" REAL, "level" TEXT,
        "osvers" TEXT, "osarch" TEXT, "os_release" TEXT, "kernels" TEXT, "disk_layout" TEXT,
        "mounts" TEXT, "excludes" TEXT, "identity" TEXT, "tar_version" TEXT,
        "files" INTEGER, "dirs" INTEGER, "symlinks" INTEGER, "hardlinks" INTEGER, "specials" INTEGER,
        "bytes" INTEGER, "stream_bytes" INTEGER, "warnings" TEXT
      )`,
    ],
  },
  {
    version: 3,
    description: "xCAT's passwd table (install templates' #CRYPT# reads the root password from it)",
    // a site may already have made one by hand, as xcimg's docs said before this version
    sql: [createTableSql("passwd", TABLES.passwd, true)],
  },
  {
    version: 4,
    description: "xCAT's networks table (xcimg dhcp, as makedhcp, renders its subnets from it)",
    sql: [createTableSql("networks", TABLES.networks, true)],
  },
  {
    version: 5,
    description: "xCAT tables image and boot workflows read, stored so a site's tabdump files restore (Schema.pm columns and order)",
    sql: (["servicenode", "networks", "nics", "prescripts", "kit", "kitrepo", "kitcomponent"] as const).map((t) => createTableSql(t, TABLES[t], true)),
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;
