import { writeSync } from "node:fs";
import { resolve } from "node:path";
import { argumentError } from "../../cli/args";
import { leaf, output } from "../../cli/command";
import { TABLE_NAMES, TABLES } from "../../core/db/tables";
import { fsError } from "../../core/errors";
import { atomicFile } from "../../core/fs/atomic";
import { dumpCsv } from "../../core/tables/csv";
import { describeTable, describeTables } from "../../core/tables/describe";
import { requireTable } from "../../core/tables/ops";
import { rowsWhere } from "../../core/tables/where";

export default leaf({
  name: "table dump",
  description: "print a table as xCAT's tabdump does (byte-compatible CSV); no table: the table names",
  args: {
    table: { type: "positional", required: false, description: "table name (see 'xcimg table list')" },
    where: {
      type: "string",
      alias: "w",
      multiple: true,
      description: "only rows where attr==v, !=, =~ (SQL LIKE, % wildcard), !~, <, <=, >, >= (ANDed)",
      valueHint: "cond",
    },
    describe: { type: "boolean", alias: "d", description: "describe the table's columns (no table: every table), as tabdump -d" },
    file: { type: "string", alias: "f", description: "write the dump to this file instead of stdout", valueHint: "file" },
  },
  readOnly: true,
  examples: [
    "xcimg table dump osimage > osimage.csv",
    "xcimg table dump -w 'groups=~%compute%' nodelist",
    "xcimg table dump -w groups==aix -w 'statustime>=2024-01-01' nodelist",
    "xcimg table dump -d linuximage",
    "xcimg table dump -f /tmp/site.csv site",
  ],
  run(ctx, args) {
    if (args.table === undefined) {
      if (args.file !== undefined) throw argumentError("table name missing from the command input.");
      if (args.where.length) throw argumentError("-w needs a table name");
      return args.describe
        ? output(
            TABLE_NAMES.map((t) => ({ table: t })),
            describeTables(),
          )
        : output(TABLE_NAMES, [...TABLE_NAMES].sort());
    }
    const table = requireTable(args.table);
    if (args.describe) return output({ table, columns: TABLES[table].cols }, describeTable(table, TABLES[table].cols));
    const rows = rowsWhere(ctx.db(), table, args.where);
    const text = dumpCsv(TABLES[table].cols, rows);
    if (args.file === undefined) return { data: rows, text };
    const path = resolve(args.file);
    // passwd holds the nodes' root password: its dump is for root only
    const f = atomicFile(path, table === "passwd" ? 0o600 : 0o644);
    try {
      writeSync(f.fd, text);
    } catch (e) {
      f.discard();
      throw fsError(e, `Error on tabdump of ${table} to ${path}`);
    }
    f.commit();
    ctx.log.info(`Wrote ${rows.length} row(s) of ${table} to ${path}.`);
    return output({ table, file: path, rows: rows.length }, "");
  },
});
