import { leaf, output } from "../../cli/command";
import { expandNoderangeInterruptibly } from "../../core/noderange/interruptible";
import { applyMove, planMove, syncsAfterMove } from "../../core/sn/move";

export default leaf({
  name: "sn move",
  description: "on the management node: move nodes to another service node (xCAT snmove); prints the 'sn sync' each SN must run",
  args: {
    noderange: { type: "positional", description: "nodes, in xCAT noderange syntax" },
    sn: { type: "positional", description: "the new service node, optionally with its backup: sn2 or sn2,sn3", valueHint: "<sn>[,<backup>]" },
  },
  examples: [
    "xcimg sn move rack1 sn2          # servicenode=sn2; xcatmaster/tftpserver/nfsserver that named sn1 now name sn2",
    "xcimg sn move rack1 sn2,sn3      # sn2 first, sn3 as its backup",
    "xcimg --json sn move cn017 sn4",
  ],
  async run(ctx, args) {
    const nodes = await expandNoderangeInterruptibly(ctx, args.noderange);
    const db = ctx.db();
    const moves = planMove(db, nodes, args.sn);
    applyMove(db, moves);
    const sync = syncsAfterMove(moves);
    // the SNs pick the change up from their next snapshot: the new ones render the nodes, the old ones drop their DHCP entries
    for (const [sn, list] of Object.entries(sync)) ctx.log.info(`${sn}: run 'xcimg sn sync' on it (for ${list.join(",")})`);
    const lines = moves.map((m) => `${m.node}: ${m.from.join(",")} -> ${m.servicenode}`);
    return output({ moved: moves, sync }, lines);
  },
});
