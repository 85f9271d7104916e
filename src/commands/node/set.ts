import { leaf, output } from "../../cli/command";
import { NODE_TYPE, setNodes } from "../../core/defs/node";
import { parseAssignments } from "../../core/defs/object";
import { expandNoderange } from "../../core/noderange/index";
import { dbNodeSource } from "../../core/noderange/db-source";

export default leaf({
  name: "node set",
  description: "create nodes or change their attributes (xCAT mkdef/chdef); attr= clears one",
  args: {
    noderange: { type: "positional", description: "nodes, in xCAT noderange syntax; new names are created" },
    assignments: { type: "positional", variadic: true, required: true, description: "attr=value", valueHint: "attr=value" },
  },
  examples: [
    "xcimg node set cn[001-128] groups=compute,all netboot=xnba arch=x86_64",
    "xcimg node set cn001 mac=52:54:00:12:34:01 ip=10.0.0.101",
    "xcimg node set compute serialport=0 serialspeed=115200 addkcmdline='quiet'",
  ],
  run(ctx, args) {
    const attrs = parseAssignments(NODE_TYPE, args.assignments);
    const db = ctx.db();
    const nodes = expandNoderange(args.noderange, dbNodeSource(db), { verify: false, env: ctx.env });
    const { created } = setNodes(db, nodes, attrs);
    ctx.log.info(`${nodes.length} node(s) set${created.length ? `, ${created.length} created` : ""}.`);
    return output({ nodes, created, attrs }, "");
  },
});
