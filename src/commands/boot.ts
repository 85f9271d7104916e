import { leaf, type Output, output } from "../cli/command";
import type { Context } from "../cli/context";
import { withPrescripts } from "../cli/prescripts";
import { imageOperation } from "../cli/shared";
import type { NodeBooted } from "../core/boot/boot";
import { offlineNodes } from "../core/boot/boot";
import { localBootNodes } from "../core/boot/local-boot";
import { writeNodeAcl } from "../core/boot/node-acl";
import { nodesByImage } from "../core/boot/plan";
import { bootStat } from "../core/boot/stat";
import { ExitCode, NotImplementedError, UsageError, XcimgError } from "../core/errors";
import { expandNoderangeInterruptibly } from "../core/noderange/interruptible";
import { findMethodFacts } from "../core/provmethod/facts";
import { snPartition, snReport } from "../core/sn/partition";
import { statOutput } from "./boot-stat";

export default leaf({
  name: "boot",
  description: "write per-node network-boot configs for an image (xCAT nodeset osimage=)",
  args: {
    noderange: { type: "positional", description: "nodes, in xCAT noderange syntax" },
    state: {
      type: "positional",
      required: false,
      description: "xCAT nodeset's action: osimage[=<image>], boot (local disk), offline or stat",
      valueHint: "osimage=<image>|boot|offline|stat",
    },
    osimage: { type: "string", alias: "o", description: "the image the nodes boot next (default: each node's nodetype.provmethod)" },
    offline: { type: "boolean", description: "remove the nodes' boot configs instead" },
    stat: { type: "boolean", description: "show what each node boots next, from its boot file (xCAT nodeset stat)" },
    ifMarked: {
      type: "boolean",
      description: "with boot: only the nodes whose boot file names a done marker that exists (installed pxelinux nodes; docs/boot.md)",
    },
  },
  readOnly: (args) => args.stat || args.state === "stat",
  examples: [
    "xcimg boot cn[001-128] -o rocky9-x86_64-netboot-compute   # iPXE/GRUB2/pxelinux per noderes.netboot",
    "xcimg boot cn[001-128] -o rhels9-x86_64-statelite-compute   # NFS or ramdisk root, per-node tmpfs/persistent files",
    "xcimg boot rack3,-cn017            # each node boots its nodetype.provmethod",
    "xcimg boot cn001 --offline",
    "xcimg boot cn[001-128] boot        # next boot from the local disk (xCAT nodeset boot)",
    "xcimg boot cn001 osimage=rocky9-x86_64-netboot-compute   # xCAT nodeset's forms: osimage=, boot, offline, stat",
    "xcimg boot all boot --if-marked    # installed nodes whose marker exists boot their disk (a systemd .path unit runs this)",
    "xcimg boot compute --stat          # cn001: netboot rocky9-x86_64-compute (image rocky9-x86_64-netboot-compute, xnba)",
  ],
  async run(ctx, args) {
    const act = bootAction(args);
    if (args.ifMarked && act.kind !== "local") throw new UsageError("--if-marked goes with the boot action: xcimg boot <noderange> boot --if-marked");
    let nodes = await expandNoderangeInterruptibly(ctx, args.noderange);
    if (act.kind === "stat") return statOutput(ctx, nodes);
    // the noderange's nodes whose done marker exists; the others (and their prescripts) are left alone
    if (args.ifMarked) nodes = bootStat(ctx, nodes).nodes.flatMap((n) => (n.doneMarker ? [n.node] : []));
    if (nodes.length === 0) return output({ booted: [], failed: {} }, [], ExitCode.OK);
    return withPrescripts(ctx, nodes, nodesetAction(act), () => runAction(ctx, act, nodes));
  },
});

/** The ACTION xCAT's prescripts see: nodeset's first argument as given (prescripts.pm). */
function nodesetAction(act: Exclude<BootAction, { kind: "stat" }>): string {
  if (act.kind === "local") return "boot";
  if (act.kind === "offline") return "offline";
  return act.osimage ? `osimage=${act.osimage}` : "osimage";
}

async function runAction(ctx: Context, act: Exclude<BootAction, { kind: "stat" }>, nodes: string[]): Promise<Output> {
  if (act.kind === "local") {
    const res = localBootNodes(ctx, nodes);
    for (const [n, reason] of Object.entries(res.failed)) ctx.log.error(`${n}: ${reason}`);
    return output(
      res,
      res.booted.map((b) => `${b.node}: boot`),
      Object.keys(res.failed).length ? ExitCode.PARTIAL : ExitCode.OK,
    );
  }
  if (act.kind === "offline") {
    const res = offlineNodes(ctx, nodes);
    for (const [n, reason] of Object.entries(res.failed)) ctx.log.error(`${n}: ${reason}`);
    return output(
      res,
      res.offline.map((r) => `${r.node}: offline`),
      Object.keys(res.failed).length ? ExitCode.PARTIAL : ExitCode.OK,
    );
  }
  const { groups, failed } = nodesByImage(ctx, nodes, act.osimage);
  // nodes behind a service node: their boot files are the SN's own (sn sync), unless it mounts this tftpdir
  const sns = snPartition(ctx.db(), nodes);
  const rowsOnly = sns.rowsOnly;
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
  const { snSync, lines: left } = snReport(
    sns,
    booted.map((b) => b.node),
    deferred,
  );
  for (const [sn, list] of Object.entries(snSync)) ctx.log.info(`${sn}: run 'xcimg sn sync' on it for ${list.join(",")}`);
  const lines = [...booted.map((b) => `${b.node}: ${b.currstate}`), ...left];
  const code = Object.keys(failed).length ? ExitCode.PARTIAL : ExitCode.OK;
  return output({ booted, failed, rowsOnly: deferred, snSync }, lines, code);
}

type BootAction = { kind: "stat" } | { kind: "local" } | { kind: "offline" } | { kind: "image"; osimage?: string };

/**
 * The flags and xCAT's positional forms (`nodeset <noderange> stat|boot|offline|osimage[=<img>]`,
 * xCAT-server/lib/xcat/plugins/xnba.pm's usage) as one action; two that disagree are refused.
 */
function bootAction(args: { state?: string; osimage?: string; offline?: boolean; stat?: boolean }): BootAction {
  const fromFlags: BootAction[] = [
    ...(args.stat ? [{ kind: "stat" } as const] : []),
    ...(args.offline ? [{ kind: "offline" } as const] : []),
    ...(args.osimage ? [{ kind: "image", osimage: args.osimage } as const] : []),
  ];
  if (args.state !== undefined) fromFlags.push(positionalAction(args.state));
  if (fromFlags.length > 1) {
    if (args.stat) throw new UsageError("--stat only reads: it excludes -o, --offline and an action");
    throw new UsageError("give one action: -o/osimage=, --offline/offline, boot or stat");
  }
  return fromFlags[0] ?? { kind: "image" };
}

function positionalAction(state: string): BootAction {
  if (state === "stat") return { kind: "stat" };
  if (state === "boot") return { kind: "local" };
  if (state === "offline") return { kind: "offline" };
  if (state === "osimage") return { kind: "image" };
  if (state.startsWith("osimage=")) {
    const img = state.slice("osimage=".length);
    if (!img) throw new UsageError("osimage= needs an image name", { hint: "xcimg boot <noderange> osimage=<image>" });
    return { kind: "image", osimage: img };
  }
  // xCAT runs these in its genesis kernel (xCAT-genesis-scripts), which xcimg does not build
  if (state === "shell" || state.startsWith("runcmd=") || state.startsWith("runimage="))
    throw new NotImplementedError(`nodeset ${state} boots xCAT's genesis kernel, and xcimg has no genesis image`, {
      hint: "boot a diskless image instead: xcimg boot <noderange> osimage=<netboot image>",
    });
  // xCAT's pre-osimage forms: the state alone, the image from nodetype.os/arch/profile
  if (findMethodFacts(state))
    throw new NotImplementedError(`nodeset ${state} (without an osimage) is not supported by xcimg`, {
      hint: "xcimg boot <noderange> osimage=<image>, or osimage alone to boot each node's nodetype.provmethod",
    });
  throw new UsageError(`unknown boot action '${state}'`, { hint: "xcimg boot <noderange> [osimage[=<image>] | boot | offline | stat]" });
}
