import { leaf, output } from "../../cli/command";
import { TABLE_NAMES, TABLES } from "../../core/db/tables";

export default leaf({
  name: "table list",
  description: "list the tables xcimg keeps, with what each holds",
  args: {},
  readOnly: true,
  examples: ["xcimg table list"],
  run() {
    return output(
      TABLE_NAMES.map((t) => ({ table: t, columns: TABLES[t].cols, keys: TABLES[t].keys, description: TABLES[t].desc })),
      TABLE_NAMES.map((t) => `${t.padEnd(12)} ${TABLES[t].desc}`),
    );
  },
});
