import { leaf, output } from "../../cli/command";
import { listNodes } from "../../core/defs/node";
import { expandNoderange } from "../../core/noderange/index";
import { dbNodeSource } from "../../core/noderange/db-source";

export default leaf({
  name: "node list",
  description: "list nodes, expanded and sorted as xCAT sorts, one per line",
  args: { noderange: { type: "positional", required: false, description: "nodes, in xCAT noderange syntax (default: all nodes)" } },
  examples: ["xcimg node list", "xcimg node list 'compute,-cn[001-010]'", "xcimg node list nodetype.os==rhels9.4"],
  run(ctx, args) {
    const db = ctx.db();
    const nodes = args.noderange === undefined ? listNodes(db) : expandNoderange(args.noderange, dbNodeSource(db), { env: ctx.env });
    return output(nodes, nodes);
  },
});
