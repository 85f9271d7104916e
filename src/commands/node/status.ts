import { leaf, output } from "../../cli/command";
import { SSH_ARGS, sshFlags } from "../../cli/ssh-args";
import { ExitCode, UsageError } from "../../core/errors";
import { expandNoderangeInterruptibly } from "../../core/noderange/interruptible";
import { followStatus, statusLine } from "../../core/postscripts/status";

export default leaf({
  name: "node status",
  description: "each node's postscript state, read over SSH: booted, failed: <script>, running (sets nodelist.status)",
  args: {
    noderange: { type: "positional", description: "nodes, in xCAT noderange syntax" },
    wait: { type: "boolean", description: "look again every 5 s until every node is booted or failed" },
    timeout: { type: "string", description: "with --wait: give up after this many seconds" },
    ...SSH_ARGS,
  },
  examples: ["xcimg node status compute", "xcimg node status cn[001-128] --wait --timeout 900", "xcimg node status rack3 --json"],
  async run(ctx, args) {
    const nodes = await expandNoderangeInterruptibly(ctx, args.noderange);
    if (args.timeout !== undefined && !/^\d+$/.test(args.timeout)) throw new UsageError(`--timeout takes a number of seconds, not '${args.timeout}'`);
    const timeout = args.timeout === undefined ? null : Number(args.timeout);
    const statuses = await followStatus(ctx, nodes, {
      ssh: sshFlags(args),
      wait: Boolean(args.wait),
      timeoutSeconds: timeout,
    });
    const bad = !statuses.every((s) => s.state === "booted");
    return output(statuses, statuses.map(statusLine), bad ? ExitCode.PARTIAL : ExitCode.OK);
  },
});
