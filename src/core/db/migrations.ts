import { TABLES, type TableSpec } from "./tables";

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

export function createTableSql(name: string, spec: TableSpec): string {
  const cols = spec.cols.map((c) => `${q(c)} TEXT${spec.keys.includes(c) ? " NOT NULL" : ""}`);
  cols.push(`UNIQUE (${spec.keys.map(q).join(", ")})`);
  return `CREATE TABLE ${q(name)} (${cols.join(", ")})`;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "xCAT tables (Schema.pm column names and order)",
    sql: Object.entries(TABLES).map(([name, spec]) => createTableSql(name, spec)),
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;
