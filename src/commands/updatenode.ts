import { leaf, output } from "../cli/command";
import { SSH_ARGS, sshFlags } from "../cli/ssh-args";
import { ExitCode, UsageError } from "../core/errors";
import { expandNoderangeInterruptibly } from "../core/noderange/interruptible";
import { parseScriptsArg, resultLine, updateNodes } from "../core/postscripts/updatenode";

export default leaf({
  name: "updatenode",
  description: "update running nodes over SSH: -P postscripts, -F synclists, -k root's SSH keys (xCAT updatenode, no daemon)",
  args: {
    noderange: { type: "positional", description: "nodes, in xCAT noderange syntax" },
    names: {
      type: "positional",
      required: false,
      description: "with -P: the postscripts to run, comma-separated, each 'name [args]' (default: all of the node's)",
    },
    scripts: { type: "boolean", alias: "P", description: "run postscripts (the named ones, else the node's postscripts and postbootscripts)" },
    sync: { type: "boolean", alias: "F", description: "apply the node's image's synclists to the node" },
    keys: { type: "boolean", alias: "k", description: "refresh root's authorized_keys on the node" },
    fanout: { type: "string", description: "nodes worked on at once (default 32)" },
    ...SSH_ARGS,
  },
  examples: [
    "xcimg updatenode compute -P                      # every postscript and postbootscript of each node",
    "xcimg updatenode cn[001-064] -P 'setupib mlx5_0,ntp'",
    "xcimg updatenode rack3 -F                         # the image's synclists, onto the running nodes",
    "xcimg updatenode rack3 -k -F -P --json",
  ],
  async run(ctx, args) {
    if (!args.scripts && !args.sync && !args.keys)
      throw new UsageError("updatenode needs -P, -F or -k", { hint: "xcimg updatenode <noderange> -P to run the nodes' postscripts" });
    if (args.names !== undefined && !args.scripts)
      throw new UsageError(`unexpected argument '${args.names}'`, { hint: "name postscripts after -P: 'xcimg updatenode <noderange> -P a,b'" });
    if (args.fanout !== undefined && !/^[1-9]\d*$/.test(args.fanout)) throw new UsageError(`--fanout takes a positive number, not '${args.fanout}'`);
    const nodes = await expandNoderangeInterruptibly(ctx, args.noderange);
    const results = await updateNodes(ctx, {
      nodes,
      keys: Boolean(args.keys),
      sync: Boolean(args.sync),
      scripts: args.scripts ? parseScriptsArg(args.names) : undefined,
      ssh: sshFlags(args),
      concurrency: args.fanout === undefined ? undefined : Number(args.fanout),
    });
    const failed = results.filter((r) => !r.ok);
    if (failed.length) ctx.log.error(`updatenode failed on ${failed.length} of ${results.length} node(s): ${failed.map((r) => r.node).join(",")}`);
    return output(results, results.map(resultLine), failed.length ? ExitCode.PARTIAL : ExitCode.OK);
  },
});
