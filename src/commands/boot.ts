import { leaf, output } from "../cli/command";
import { imageOperation } from "../cli/shared";
import type { NodeBooted } from "../core/boot/boot";
import { offlineNodes } from "../core/boot/boot";
import { writeNodeAcl } from "../core/boot/node-acl";
import { nodesByImage } from "../core/boot/plan";
import { siteSettings } from "../core/boot/site";
import { ExitCode, UsageError, XcimgError } from "../core/errors";
import { expandNoderangeInterruptibly } from "../core/noderange/interruptible";
import { bySn, servingSns } from "../core/sn/served";
import { statOutput } from "./boot-stat";

export default leaf({
  name: "boot",
  description: "write per-node network-boot configs for an image (xCAT nodeset osimage=)",
  args: {
    noderange: { type: "positional", description: "nodes, in xCAT noderange syntax" },
    osimage: { type: "string", alias: "o", description: "the image the nodes boot next (default: each node's nodetype.provmethod)" },
    offline: { type: "boolean", description: "remove the nodes' boot configs instead" },
    stat: { type: "boolean", description: "show what each node boots next, from its boot file (xCAT nodeset stat)" },
  },
  readOnly: (args) => args.stat,
  examples: [
    "xcimg boot cn[001-128] -o rocky9-x86_64-netboot-compute   # iPXE/GRUB2/pxelinux per noderes.netboot",
    "xcimg boot cn[001-128] -o rhels9-x86_64-statelite-compute   # NFS or ramdisk root, per-node tmpfs/persistent files",
    "xcimg boot rack3,-cn017            # each node boots its nodetype.provmethod",
    "xcimg boot cn001 --offline",
    "xcimg boot compute --stat          # cn001: netboot rocky9-x86_64-compute (image rocky9-x86_64-netboot-compute, xnba)",
  ],
  async run(ctx, args) {
    if (args.osimage && args.offline) throw new UsageError("-o and --offline exclude each other");
    if (args.stat && (args.osimage || args.offline)) throw new UsageError("--stat only reads: it excludes -o and --offline");
    const nodes = await expandNoderangeInterruptibly(ctx, args.noderange);
    if (args.stat) return statOutput(ctx, nodes);
    if (args.offline) {
      const res = offlineNodes(ctx, nodes);
      for (const [n, reason] of Object.entries(res.failed)) ctx.log.error(`${n}: ${reason}`);
      return output(
        res,
        res.offline.map((r) => `${r.node}: offline`),
        Object.keys(res.failed).length ? ExitCode.PARTIAL : ExitCode.OK,
      );
    }
    const { groups, failed } = nodesByImage(ctx, nodes, args.osimage);
    // nodes behind a service node: their boot files are the SN's own (sn sync), unless it mounts this tftpdir
    const serving = servingSns(ctx.db(), nodes);
    const rowsOnly = siteSettings(ctx.db()).sharedTftp ? new Set<string>() : new Set(serving.keys());
    const booted: NodeBooted[] = [];
    const deferred: string[] = [];
    const imageErrors: XcimgError[] = [];
    for (const [name, group] of groups) {
      try {
        const { image, fn } = await imageOperation(ctx, name, "boot");
        const r = await fn(ctx, image, { nodes: group, rowsOnly });
        booted.push(...r.booted);
        deferred.push(...r.rowsOnly);
        Object.assign(failed, r.failed);
        if (r.hostKeysCreated) ctx.log.info(`created SSH host keys for ${r.hostKeysCreated} node(s)`);
      } catch (e) {
        if (!(e instanceof XcimgError)) throw e;
        imageErrors.push(e);
        for (const n of group) failed[n] = e.message;
      }
    }
    // each node's overlay and answer file for its own address only, for sites that include it (docs/boot.md)
    writeNodeAcl(ctx.config, booted, ctx.log);
    // one image and nothing could be done: its error, with its own exit code and hint
    if (booted.length === 0 && imageErrors.length === 1 && Object.keys(failed).length === nodes.length && groups.size === 1) throw imageErrors[0];
    for (const [n, reason] of Object.entries(failed)) ctx.log.error(`${n}: ${reason}`);
    const snSync = bySn(serving, [...booted.map((b) => b.node), ...deferred]);
    for (const [sn, list] of Object.entries(snSync)) ctx.log.info(`${sn}: run 'xcimg sn sync' on it for ${list.join(",")}`);
    const lines = [
      ...booted.map((b) => `${b.node}: ${b.currstate}`),
      ...deferred.map((n) => `${n}: boot files left to service node ${(serving.get(n) ?? []).join(",")}`),
    ];
    const code = Object.keys(failed).length ? ExitCode.PARTIAL : ExitCode.OK;
    return output({ booted, failed, rowsOnly: deferred, snSync }, lines, code);
  },
});
