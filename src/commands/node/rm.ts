import { leaf, output } from "../../cli/command";
import { removeNodes } from "../../core/defs/node";
import { expandNoderange } from "../../core/noderange/index";
import { dbNodeSource } from "../../core/noderange/db-source";

export default leaf({
  name: "node rm",
  description: "remove nodes from every table (xCAT rmdef -t node)",
  args: { noderange: { type: "positional", description: "nodes, in xCAT noderange syntax" } },
  examples: ["xcimg node rm cn[001-004]", "xcimg node rm retired"],
  run(ctx, args) {
    const db = ctx.db();
    const nodes = expandNoderange(args.noderange, dbNodeSource(db), { env: ctx.env });
    removeNodes(db, nodes);
    ctx.log.info(`Removed ${nodes.length} node(s).`);
    return output({ removed: nodes }, "");
  },
});
