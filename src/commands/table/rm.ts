import { leaf, output } from "../../cli/command";
import { NotFoundError } from "../../core/errors";
import { parseRowKey, removeRow, requireTable } from "../../core/tables/ops";

export default leaf({
  name: "table rm",
  description: "delete one row by its key (xCAT chtab -d)",
  args: {
    table: { type: "positional", description: "table name" },
    key: { type: "positional", description: "the row's key, e.g. node=cn001 or image=ALL,file=/etc/hosts" },
  },
  examples: ["xcimg table rm litefile image=ALL,file=/var/log/"],
  run(ctx, args) {
    const table = requireTable(args.table);
    const n = removeRow(ctx.db(), table, parseRowKey(table, args.key));
    if (n === 0) throw new NotFoundError(`no ${table} row with ${args.key}`);
    return output({ table, removed: n }, "");
  },
});
