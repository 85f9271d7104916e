import { leaf, output } from "../../cli/command";
import { NODE_TYPE, setNodes } from "../../core/defs/node";
import { splitListEdits } from "../../core/defs/list-edit";
import { parseAssignments } from "../../core/defs/object";
import { expandNoderangeInterruptibly } from "../../core/noderange/interruptible";

export default leaf({
  name: "node set",
  description: "create nodes or change their attributes (xCAT mkdef/chdef); attr= clears one, attr,=v adds to a list, attr^=v removes",
  args: {
    noderange: { type: "positional", description: "nodes, in xCAT noderange syntax; new names are created" },
    assignments: { type: "positional", variadic: true, required: true, description: "attr=value, attr,=value (add to the list), attr^=value (remove)", valueHint: "attr=value" },
  },
  examples: [
    "xcimg node set cn[001-128] groups=compute,all netboot=xnba arch=x86_64",
    "xcimg node set cn001 mac=52:54:00:12:34:01 ip=10.0.0.101",
    "xcimg node set compute serialport=0 serialspeed=115200 addkcmdline='quiet'",
    "xcimg node set cn001 groups,=rack1 postscripts^=setupntp",
  ],
  async run(ctx, args) {
    const { plain, edits } = splitListEdits(NODE_TYPE, args.assignments);
    const attrs = parseAssignments(NODE_TYPE, plain);
    const db = ctx.db();
    const nodes = await expandNoderangeInterruptibly(ctx, args.noderange, { verify: false });
    const { created } = setNodes(db, nodes, attrs, edits);
    ctx.log.info(`${nodes.length} node(s) set${created.length ? `, ${created.length} created` : ""}.`);
    return output({ nodes, created, attrs }, "");
  },
});
