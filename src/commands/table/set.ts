import { leaf, output } from "../../cli/command";
import type { Row } from "../../core/db/rows";
import { inertWarning } from "../../core/defs/inert-attrs";
import { inertColumns } from "../../core/tables/inert-columns";
import { parseRowKey, requireTable, setRow } from "../../core/tables/ops";

export default leaf({
  name: "table set",
  description: "set columns of one row, creating it if needed (xCAT chtab)",
  args: {
    table: { type: "positional", description: "table name" },
    key: { type: "positional", description: "the row's key, e.g. node=cn001 or image=ALL,file=/etc/hosts" },
    assignments: { type: "positional", variadic: true, required: true, description: "column=value", valueHint: "column=value" },
  },
  examples: [
    "xcimg table set litefile image=ALL,file=/var/log/ options=persistent",
    "xcimg table set statelite node=compute statemnt=10.0.0.1:/nodedata",
    "xcimg table set litetree priority=1.0 image=ALL directory=10.0.0.1:/statelite/tree",
    "xcimg table set site key=excludenodes value=cn099",
  ],
  run(ctx, args) {
    const table = requireTable(args.table);
    const row = setRow(ctx.db(), table, parseRowKey(table, args.key), args.assignments);
    const given: Row = {};
    for (const a of args.assignments) {
      const col = a.slice(0, a.indexOf("=")).replace(/\+$/, "").replace(`${table}.`, "");
      if (row[col]) given[col] = row[col] as string;
    }
    const inert = inertWarning(inertColumns(table, [given]));
    if (inert) ctx.log.warn(inert);
    return output(row, "");
  },
});
