import { leaf, output } from "../../cli/command";
import { readNodes } from "../../core/defs/node";
import { stanza } from "../../core/defs/object";
import { expandNoderange } from "../../core/noderange/index";
import { dbNodeSource } from "../../core/noderange/db-source";

export default leaf({
  name: "node show",
  description: "show nodes' attributes as lsdef does",
  args: { noderange: { type: "positional", description: "nodes, in xCAT noderange syntax" } },
  examples: ["xcimg node show cn001", "xcimg node show compute --json"],
  run(ctx, args) {
    const db = ctx.db();
    const nodes = expandNoderange(args.noderange, dbNodeSource(db), { env: ctx.env });
    const attrs = readNodes(db, nodes);
    const data: Record<string, Record<string, string>> = {};
    for (const n of nodes) data[n] = attrs.get(n) ?? {};
    return output(data, nodes.map((n) => stanza(n, data[n] ?? {})).join("\n\n"));
  },
});
