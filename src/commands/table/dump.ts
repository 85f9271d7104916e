import { leaf } from "../../cli/command";
import { allRows } from "../../core/db/rows";
import { dumpTable, requireTable } from "../../core/tables/ops";

export default leaf({
  name: "table dump",
  description: "print a table as xCAT's tabdump does (byte-compatible CSV)",
  args: { table: { type: "positional", description: "table name (see 'xcimg table list')" } },
  examples: ["xcimg table dump osimage > osimage.csv", "xcimg table dump litefile"],
  run(ctx, args) {
    const table = requireTable(args.table);
    const db = ctx.db();
    return { data: allRows(db, table), text: dumpTable(db, table) };
  },
});
