import descriptions from "../db/schema-descriptions.json";
import { TABLE_NAMES, type TableName } from "../db/tables";

/**
 * tabdump -d (xCAT-server/lib/xcat/plugins/tabutils.pm): `name:` then one tab, or two for
 * names shorter than 7 characters, then the description, entries separated by a blank line.
 * The texts are Schema.pm's (scripts/schema-descriptions.pl regenerates them).
 */
const columns = descriptions.columns as unknown as Record<string, Record<string, string | null>>;
const tables = descriptions.tables as unknown as Record<string, string | null>;

const entry = (name: string, desc: string) => `${name}:${name.length < 7 ? "\t\t" : "\t"}${desc}`;

export function describeTable(table: TableName, cols: readonly string[]): string {
  return `${cols.map((c) => entry(c, columns[table]?.[c] ?? "")).join("\n\n")}\n`;
}

export function describeTables(): string {
  return `${[...TABLE_NAMES]
    .sort()
    .map((t) => entry(t, tables[t] ?? ""))
    .join("\n\n")}\n`;
}
