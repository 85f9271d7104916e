import { readFileSync } from "node:fs";
import { leaf, output } from "../../cli/command";
import { allRows } from "../../core/db/rows";
import { inertWarning } from "../../core/defs/inert-attrs";
import { fsError, UsageError } from "../../core/errors";
import { inertColumns } from "../../core/tables/inert-columns";
import { requireTable, restoreTable, tableFromFileName } from "../../core/tables/ops";
import { siteConfigDrift } from "../../core/tables/site-drift";

export default leaf({
  name: "table restore",
  description: "load a table from xCAT tabdump CSV, replacing its rows (-a adds them); all or nothing",
  args: {
    table: { type: "positional", description: "table name, or the CSV file when the table is named after it (site.csv)" },
    file: { type: "positional", required: false, description: "CSV file written by tabdump" },
    addrows: { type: "boolean", alias: "a", description: "add the rows instead of replacing the table" },
  },
  examples: ["xcimg table restore osimage osimage.csv", "xcimg table restore /tmp/litefile.csv", "xcimg table restore -a litefile more-litefiles.csv"],
  run(ctx, args) {
    const file = args.file ?? args.table;
    const table = requireTable(args.file ? args.table : tableFromFileName(file));
    if (file === "-") throw new UsageError("restore reads a file, not standard input");
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw fsError(e, `Unable to open ${file} for reading`);
    }
    const n = restoreTable(ctx.db(), table, text, file, { addRows: args.addrows });
    ctx.log.info(`Restored ${n} row(s) into ${table}.`);
    const inert = inertWarning(inertColumns(table, allRows(ctx.db(), table)));
    if (inert) ctx.log.warn(inert);
    if (table === "site") for (const w of siteConfigDrift(ctx.db(), ctx.config)) ctx.log.warn(w);
    return output({ table, rows: n }, "");
  },
});
