import { leaf, output } from "../cli/command";
import { withPrescripts } from "../cli/prescripts";
import { imageOperation } from "../cli/shared";
import { SSH_ARGS, sshFlags } from "../cli/ssh-args";
import { ExitCode, UsageError } from "../core/errors";
import { expandNoderangeInterruptibly } from "../core/noderange/interruptible";
import { afterImageChange } from "../core/provenance/hooks";
import { snPartition, snReport } from "../core/sn/partition";
import { parseSize } from "../provmethods/sysclone/size";
import { followClones, isFinished, statusLine } from "../provmethods/sysclone/status";
import type { CloneRequest } from "../provmethods/types";

export default leaf({
  name: "clone",
  description: "deploy a sysclone image onto diskful nodes (partition, copy, bootloader, identity)",
  args: {
    noderange: { type: "positional", description: "nodes to clone, in xCAT noderange syntax" },
    osimage: { type: "string", alias: "o", description: "the sysclone image" },
    dryRun: { type: "boolean", description: "show the disk plan (or, with --update, what would change) and change nothing" },
    diskSize: { type: "string", description: "with --dry-run: plan for disks of this size (e.g. 500G; default: the golden node's disk)" },
    disk: { type: "string", description: "the device the nodes clone onto (default: the golden node's disk name, else the node's first disk)" },
    rebootAfter: { type: "string", description: "seconds a finished node waits to be switched to local boot before rebooting anyway (default: wait for it)" },
    status: { type: "boolean", description: "show each node's progress; switch finished nodes to boot from their disk" },
    wait: { type: "boolean", description: "like --status, again every 10 s until every node has booted from its disk, failed, or is not being cloned" },
    timeout: { type: "string", description: "with --wait: give up after this many seconds" },
    update: { type: "boolean", description: "bring running clones up to date with the image over SSH (rsync; identity and overrides kept)" },
    noDelete: { type: "boolean", description: "with --update: keep files the image no longer has" },
    excludeFrom: { type: "string", description: "with --update: a file of node paths (one a line) never changed, besides /var/log, /home, /tmp, /var/tmp" },
    ...SSH_ARGS,
  },
  examples: [
    "xcimg clone cn[001-128] -o golden-2024-06            # then power the nodes on (network boot)",
    "xcimg clone rack3 -o golden-2024-06 --dry-run --disk-size 480G",
    "xcimg clone rack3 --wait                              # progress; finished nodes boot from their disk",
    "xcimg clone rack3 --status",
    "xcimg node set rack3 'postscripts=setupib mlx5_0' postbootscripts=firstboot   # arguments reach the script as written",
    "xcimg clone rack3 -o golden-2024-07 --update --dry-run   # what a re-captured image would change",
    "xcimg clone rack3 -o golden-2024-07 --update",
    "xcimg clone rack3 -o golden-2024-07 --update --no-delete --exclude-from /etc/xcimg/keep.list",
  ],
  async run(ctx, args) {
    const nodes = await expandNoderangeInterruptibly(ctx, args.noderange);
    const ssh = sshFlags(args);
    if (args.status || args.wait) {
      if (args.osimage || args.update || args.dryRun) throw new UsageError("--status and --wait take only a noderange (and SSH options)");
      const timeout = args.timeout === undefined ? null : seconds(args.timeout, "--timeout");
      const statuses = await followClones(ctx, nodes, { ssh, wait: Boolean(args.wait), timeoutSeconds: timeout });
      const bad = statuses.some((s) => s.state === "failed") || (args.wait && !statuses.every(isFinished));
      return output(statuses, statuses.map(statusLine), bad ? ExitCode.PARTIAL : ExitCode.OK);
    }
    if (!args.osimage) throw new UsageError("clone needs -o <osimage>", { hint: "or --status / --wait to follow nodes being cloned" });
    if (args.update && (args.disk || args.diskSize || args.rebootAfter !== undefined)) {
      throw new UsageError("--disk, --disk-size and --reboot-after shape a clone; --update leaves the node's disk layout and boot as they are");
    }
    if ((args.noDelete || args.excludeFrom) && !args.update) throw new UsageError("--no-delete and --exclude-from shape an update: use them with --update");
    if (args.diskSize && !args.dryRun) throw new UsageError("--disk-size only shapes the plan --dry-run prints: each node plans for its own disk");
    if (args.disk && !/^\/dev\/[A-Za-z0-9/_-]+$/.test(args.disk)) throw new UsageError(`--disk must name a device such as /dev/sda, not '${args.disk}'`);
    const { image, fn } = await imageOperation(ctx, args.osimage, "clone");
    // nodes behind a service node: rows and host keys here, their boot files from the SN's sn sync (as boot does)
    const sns = snPartition(ctx.db(), nodes);
    const req: CloneRequest = {
      nodes,
      rowsOnly: args.update ? undefined : sns.rowsOnly,
      dryRun: args.dryRun,
      update: args.update,
      diskBytes: args.diskSize ? parseSize(args.diskSize) : undefined,
      disk: args.disk,
      rebootAfter: args.rebootAfter === undefined ? undefined : seconds(args.rebootAfter, "--reboot-after"),
      ssh,
      noDelete: args.noDelete,
      excludeFrom: args.excludeFrom,
    };
    const prepare = async () => {
      const result = await fn(ctx, image, req);
      // clone made or reused the disk archive nodes download: the manifest lists it (docs/provenance.md)
      if (!args.dryRun && !args.update) afterImageChange(ctx, image.name);
      for (const [n, reason] of Object.entries(result.failed)) ctx.log.error(`${n}: ${reason}`);
      const deferred = "rowsOnly" in result ? result.rowsOnly : [];
      const lines = [...result.lines];
      if (deferred.length) {
        const report = snReport(sns, "nodes" in result ? result.nodes.map((n) => n.node) : [], deferred);
        for (const [sn, list] of Object.entries(report.snSync)) ctx.log.info(`${sn}: run 'xcimg sn sync' on it for ${list.join(",")}`);
        lines.push(...report.lines);
        Object.assign(result, { snSync: report.snSync });
      }
      return output(result, lines, Object.keys(result.failed).length ? ExitCode.PARTIAL : ExitCode.OK);
    };
    // preparing clones is xCAT's `nodeset <nr> osimage=<sysclone image>`: its prescripts run around it
    return args.dryRun || args.update ? prepare() : withPrescripts(ctx, nodes, `osimage=${args.osimage}`, prepare);
  },
});

function seconds(v: string, flag: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag} takes a number of seconds, not '${v}'`);
  return Number(v);
}
