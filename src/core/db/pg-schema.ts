import { DataError } from "../errors";
import type { DbDriver } from "./driver";
import { TABLES, type TableName, type TableSpec } from "./tables";

/**
 * The schema xcimg needs on a PostgreSQL database, which may be the very database xCAT's
 * pgsqlsetup made. xCAT's tables are xCAT's: xcimg never alters one that exists. One that is
 * missing entirely is created with the statement xCAT's Table.pm buildcreatestmt would use
 * (xCAT itself creates a table on first use the same way), so xCAT can use it afterwards. A
 * table that exists but lacks a column or the primary key xcimg relies on is refused: it is
 * not a schema xcimg knows, and writing to it could lose data. xcimg's own tables are prefixed
 * xcimg_, a name Schema.pm never uses.
 */
const q = (id: string) => `"${id.replace(/"/g, '""')}"`;

/** Schema.pm `types` of the tables xcimg knows; any other column is TEXT. */
const XCAT_TYPES: Partial<Record<TableName, Record<string, string>>> = {
  osimage: { osupdatename: "VARCHAR(1024)" },
};

/** Schema.pm `required` (besides keys) of the tables xcimg knows. */
const XCAT_REQUIRED: Partial<Record<TableName, readonly string[]>> = {
  litefile: ["image", "file"],
  litetree: ["priority", "directory"],
  statelite: ["node", "statemnt"],
};

/** Table.pm buildcreatestmt for Pg: keys VARCHAR(128), required NOT NULL, PRIMARY KEY (keys). */
export function xcatCreateTableSql(name: TableName): string {
  const spec: TableSpec = TABLES[name];
  const cols = spec.cols.map((c) => {
    let type = XCAT_TYPES[name]?.[c] ?? "TEXT";
    if (type === "TEXT" && spec.keys.includes(c)) type = "VARCHAR(128)";
    const notNull = (XCAT_REQUIRED[name] ?? []).includes(c) ? " NOT NULL" : "";
    return `${q(c)} ${type}${notNull}`;
  });
  return `CREATE TABLE ${name} (\n  ${cols.join(",\n  ")},\n  PRIMARY KEY (${spec.keys.map(q).join(",")})\n)`;
}

/** xcimg's own tables on PostgreSQL, by schema version (xcimg_schema.version). */
export const PG_MIGRATIONS: { version: number; sql: string[] }[] = [
  {
    version: 1,
    sql: [
      `CREATE TABLE xcimg_capture (
        "imagename" TEXT NOT NULL PRIMARY KEY,
        "node" TEXT, "address" TEXT, "type" TEXT, "rootdir" TEXT, "tree" TEXT,
        "started" TEXT, "finished" TEXT, "seconds" DOUBLE PRECISION, "level" TEXT,
        "osvers" TEXT, "osarch" TEXT, "os_release" TEXT, "kernels" TEXT, "disk_layout" TEXT,
        "mounts" TEXT, "excludes" TEXT, "identity" TEXT, "tar_version" TEXT,
        "files" BIGINT, "dirs" BIGINT, "symlinks" BIGINT, "hardlinks" BIGINT, "specials" BIGINT,
        "bytes" BIGINT, "stream_bytes" BIGINT, "warnings" TEXT
      )`,
      // PostgreSQL has no rowid: this keeps the insertion order tabdump prints (row-order.ts)
      `CREATE TABLE xcimg_roworder (
        "xcimg_table" TEXT NOT NULL, "xcimg_key" TEXT NOT NULL, "xcimg_seq" BIGSERIAL NOT NULL,
        PRIMARY KEY ("xcimg_table", "xcimg_key")
      )`,
      `CREATE INDEX xcimg_roworder_seq ON xcimg_roworder ("xcimg_table", "xcimg_seq")`,
    ],
  },
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.at(-1)?.version ?? 0;

interface Catalog {
  columns: Map<string, string[]>;
  primaryKeys: Map<string, string[]>;
  version: number | null;
}

function readCatalog(d: DbDriver): Catalog {
  const columns = new Map<string, string[]>();
  for (const r of d.all(
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
  ) as { table_name: string; column_name: string }[]) {
    const list = columns.get(r.table_name);
    if (list) list.push(r.column_name);
    else columns.set(r.table_name, [r.column_name]);
  }
  const primaryKeys = new Map<string, string[]>();
  for (const r of d.all(
    `SELECT c.relname AS table_name, a.attname AS column_name
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
      WHERE (i.indisprimary OR i.indisunique) AND n.nspname = current_schema() AND i.indnatts = (SELECT count(*) FROM unnest(i.indkey))
      ORDER BY c.relname, i.indexrelid`,
  ) as { table_name: string; column_name: string }[]) {
    const list = primaryKeys.get(r.table_name);
    if (list) list.push(r.column_name);
    else primaryKeys.set(r.table_name, [r.column_name]);
  }
  let version: number | null = null;
  if (columns.has("xcimg_schema")) version = Number((d.get("SELECT max(version) AS v FROM xcimg_schema") as { v: number | null } | null)?.v ?? 0);
  return { columns, primaryKeys, version };
}

/** Why an existing xCAT table cannot be used, or null. */
function tableProblem(name: TableName, cat: Catalog): string | null {
  const have = cat.columns.get(name);
  if (!have) return null;
  const spec: TableSpec = TABLES[name];
  const missing = spec.cols.filter((c) => !have.includes(c));
  if (missing.length) return `table ${name} has no column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`;
  // ON CONFLICT needs a unique index on exactly the keys: Table.pm's PRIMARY KEY
  const unique = cat.primaryKeys.get(name) ?? [];
  if (!spec.keys.every((k) => unique.includes(k))) return `table ${name} has no primary key on (${spec.keys.join(", ")})`;
  return null;
}

function needsWork(cat: Catalog): boolean {
  return cat.version !== PG_SCHEMA_VERSION || (Object.keys(TABLES) as TableName[]).some((t) => !cat.columns.has(t));
}

/** Check, and create what is missing, under the lock every xcimg writer takes. */
export function preparePgSchema(d: DbDriver, where: string): { created: string[] } {
  let cat = readCatalog(d);
  check(cat, where);
  if (!needsWork(cat)) return { created: [] };
  const created: string[] = [];
  d.beginWrite();
  try {
    cat = readCatalog(d); // re-read under the lock: another xcimg may have just done it
    check(cat, where);
    for (const t of Object.keys(TABLES) as TableName[]) {
      if (cat.columns.has(t)) continue;
      d.exec(xcatCreateTableSql(t));
      created.push(t);
    }
    if (cat.version === null) d.exec(`CREATE TABLE xcimg_schema ("version" INTEGER NOT NULL)`);
    for (const m of PG_MIGRATIONS) {
      if (m.version <= (cat.version ?? 0)) continue;
      for (const stmt of m.sql) d.exec(stmt);
      d.exec(`DELETE FROM xcimg_schema; INSERT INTO xcimg_schema ("version") VALUES (${m.version})`);
    }
    d.commit();
  } catch (e) {
    d.rollback();
    throw e;
  }
  return { created };
}

function check(cat: Catalog, where: string): void {
  if (cat.version !== null && cat.version > PG_SCHEMA_VERSION) {
    throw new DataError(`database ${where} has xcimg schema version ${cat.version}, newer than this xcimg knows (${PG_SCHEMA_VERSION})`, {
      hint: "use the xcimg release that wrote it, or a newer one",
    });
  }
  for (const t of Object.keys(TABLES) as TableName[]) {
    const problem = tableProblem(t, cat);
    if (problem) {
      throw new DataError(`database ${where}: ${problem}, so it is not the xCAT schema this xcimg knows (xCAT's Schema.pm); nothing was changed`, {
        hint: `compare it with 'tabdump -d ${t}' on the xCAT management node; xcimg never alters xCAT's tables`,
      });
    }
  }
}
