import { leaf, output } from "../../cli/command";
import { SSH_ARGS, sshFlags } from "../../cli/ssh-args";
import { ExitCode } from "../../core/errors";
import { expandNoderangeInterruptibly } from "../../core/noderange/interruptible";
import { applyMove, emptiedSns, planMove, syncsAfterMove } from "../../core/sn/move";
import { syncServiceNodes } from "../../core/sn/remote-sync";

export default leaf({
  name: "sn move",
  description: "on the management node: move nodes to another service node (xCAT snmove); --sync runs 'sn sync' on each SN involved",
  args: {
    noderange: { type: "positional", description: "nodes, in xCAT noderange syntax" },
    sn: { type: "positional", description: "the new service node, optionally with its backup: sn2 or sn2,sn3", valueHint: "<sn>[,<backup>]" },
    sync: { type: "boolean", description: "then run sn.sync_command ('xcimg sn sync') on the old and new SNs over SSH, their output relayed" },
    ...SSH_ARGS,
  },
  examples: [
    "xcimg sn move rack1 sn2          # servicenode=sn2; xcatmaster/tftpserver/nfsserver that named sn1 now name sn2",
    "xcimg sn move rack1 sn2,sn3      # sn2 first, sn3 as its backup",
    "xcimg sn move rack1 sn2 --sync   # and sn1, sn2 sync now (exit 1 if one of them fails; the move stays)",
    "xcimg --json sn move cn017 sn4",
  ],
  async run(ctx, args) {
    const nodes = await expandNoderangeInterruptibly(ctx, args.noderange);
    const db = ctx.db();
    const moves = planMove(db, nodes, args.sn);
    applyMove(db, moves);
    const sync = syncsAfterMove(moves);
    const lines = moves.map((m) => `${m.node}: ${m.from.join(",")} -> ${m.servicenode}`);
    if (!args.sync) {
      // the SNs pick the change up from their next snapshot: the new ones render the nodes, the old ones drop their DHCP entries
      for (const [sn, list] of Object.entries(sync)) ctx.log.info(`${sn}: run 'xcimg sn sync' on it (for ${list.join(",")})`);
      return output({ moved: moves, sync }, lines);
    }
    const synced = await syncServiceNodes(ctx, Object.keys(sync), emptiedSns(db, moves), sshFlags(args));
    for (const r of synced) lines.push(`${r.sn}: ${r.ok ? "synced" : "sync failed"}${r.message ? `: ${r.message}` : ""}`);
    const failed = synced.filter((r) => !r.ok);
    if (failed.length)
      ctx.log.error(`the move is committed; ${failed.map((r) => r.sn).join(", ")} did not sync and will pick it up at the next 'xcimg sn sync' there`);
    return output({ moved: moves, sync, synced }, lines, failed.length ? ExitCode.PARTIAL : ExitCode.OK);
  },
});
