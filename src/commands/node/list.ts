import { leaf, output } from "../../cli/command";
import { listNodes } from "../../core/defs/node";
import { expandNoderangeInterruptibly } from "../../core/noderange/interruptible";

export default leaf({
  name: "node list",
  description: "list nodes, expanded and sorted as xCAT sorts, one per line",
  args: {
    noderange: { type: "positional", required: false, description: "nodes, in xCAT noderange syntax (default: all nodes)" },
    typed: { type: "boolean", description: "print 'name  (node)' lines, as lsdef lists objects" },
  },
  readOnly: true,
  examples: ["xcimg node list", "xcimg node list 'compute,-cn[001-010]'", "xcimg node list nodetype.os==rhels9.4"],
  async run(ctx, args) {
    const db = ctx.db();
    const nodes = args.noderange === undefined ? listNodes(db) : await expandNoderangeInterruptibly(ctx, args.noderange);
    return output(nodes, args.typed ? nodes.map((n) => `${n}  (node)`) : nodes);
  },
});
