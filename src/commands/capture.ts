import { leaf, output } from "../cli/command";
import { SSH_ARGS } from "../cli/ssh-args";
import { createdBy } from "../core/capture/method-facts";
import { CAPTURE_TYPES } from "../core/capture/plan";
import { treeStateFile } from "../core/capture/tree";
import { afterCapture, captureOrigin } from "../core/provenance/hooks";
import { operation } from "../provmethods/registry";

export default leaf({
  name: "capture",
  description: "copy a running golden node over SSH into an image (xCAT imgcapture)",
  args: {
    node: { type: "positional", description: "the golden node (hosts.ip if set, else the name)" },
    type: {
      type: "enum",
      alias: "t",
      options: CAPTURE_TYPES,
      required: true,
      description: "diskless (netboot root tree) or sysclone (tree to clone onto disks)",
    },
    osimage: { type: "string", alias: "o", description: "image to create or update (default for diskless: <os>-<arch>-netboot-<profile>)" },
    profile: { type: "string", alias: "p", description: "profile of the new image (default: compute)" },
    exclude: { type: "string", alias: "x", multiple: true, description: "exclude a path pattern, as in an imgcapture.exlist: './var/cache/*'" },
    excludeFile: { type: "string", description: "file of exclude patterns, one per line" },
    rootdir: { type: "string", description: "capture this directory on the node as if it were /" },
    ...SSH_ARGS,
    acceptNewHostkey: { type: "boolean", description: "trust and record the host key of a node not yet in known_hosts" },
    keepIdentity: { type: "boolean", description: "keep SSH host keys, machine-id, net rules and DHCP leases" },
    force: { type: "boolean", description: "replace a statelite or NFS-root tree, keeping it as <tree>.prev" },
  },
  examples: [
    "xcimg capture golden01 -t diskless                  # image <osvers>-<arch>-netboot-compute; run again to refresh (incremental)",
    "xcimg capture golden01 -t sysclone -o golden-2024-06 -x './scratch/*'",
    "xcimg capture buildhost -t diskless -o test --rootdir /srv/chroot/rocky9 --accept-new-hostkey",
    "xcimg --json capture golden01 -t diskless --keep-identity   # see docs/capture.md",
  ],
  async run(ctx, args) {
    // -t diskless runs netboot's capture, -t sysclone sysclone's: the method each type creates
    const fn = await operation(createdBy(args.type), "capture", `capture -t ${args.type}`);
    const result = await fn(ctx, {
      node: args.node,
      image: given(args.osimage),
      profile: given(args.profile),
      excludes: args.exclude ?? [],
      excludeFile: given(args.excludeFile),
      rootdir: given(args.rootdir),
      keepIdentity: Boolean(args.keepIdentity),
      force: Boolean(args.force),
      ssh: { port: given(args.port), user: given(args.user), identity: given(args.identity), acceptNewHostkey: Boolean(args.acceptNewHostkey) },
    });
    // the manifest's tree digest is computed when first needed, not here (core/provenance/pending.ts)
    afterCapture(ctx, result.image, captureOrigin(ctx, result.image), treeStateFile(result.tree));
    return output(result, result.summary);
  },
});

/** An empty flag value (`-o ''`) is the same as none, as it always was for capture. */
function given(v: string | undefined): string | undefined {
  return v === "" ? undefined : v;
}
