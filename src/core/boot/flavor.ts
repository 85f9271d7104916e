import type { MemoryEntry } from "../archive/cpio";
import type { Context } from "../context";
import type { Image } from "../defs/image";
import type { Attrs } from "../defs/object";
import { type KcmdlineInput, MYIPFN } from "./kcmdline";
import type { NodeNetwork, OverlayInput } from "./overlay";
import type { PublishedImage } from "./publish";
import type { SiteSettings } from "./site";

/** A per-node problem: reported for that node, the others carry on. */
export class NodeError extends Error {}

/** What a node's boot is built from, resolved as xCAT's mknetboot does. */
export interface NodeBootInput {
  node: string;
  attrs: Attrs;
  site: SiteSettings;
  /** The MAC of the NIC it boots from (core/boot/mac.ts bootMac). */
  mac: string;
  /** noderes.xcatmaster, else MYIPFN. */
  xcatMaster: string;
  /** noderes.nfsserver (unless <xcatmaster>), tftpserver, xcatmaster, else MYIPFN. */
  imgServer: string;
}

/**
 * How one provisioning method boots, declared in its own folder (src/provmethods/<m>/boot*.ts)
 * and handed to core/boot/boot.ts bootNodes by its boot (or clone) operation: the image's boot
 * files, each node's kernel command line, what goes into the node's overlay, and the method's
 * own per-node work. Everything else — the MAC, the network, loader files, host keys, the
 * database rows in one transaction, per-node failures — is the loop's, the same for all.
 *
 * It is built per image by the operation, not declared once as a MethodFacts section
 * (src/core/provmethod/facts.ts): building it publishes the boot files, renders templates or
 * builds the clone environment, which only an operation on one image may do.
 */
export interface BootFlavor {
  /**
   * chain.currstate the nodes get, e.g. `netboot rocky9-x86_64-compute`; its first word is the
   * state the node's postscripts see (xCAT's NODESETSTATE).
   */
  currstate: string;
  /**
   * Once, with the nodes that passed the shared checks (defined, a file-safe name, a MAC) and
   * before any of their command lines: the method's work that can fail a node (install renders
   * its answer file, sysclone packs its overrides). Returns node → reason for those it failed.
   */
  prepare?(nodes: readonly NodeBootInput[]): Promise<Record<string, string>>;
  /** The image's boot files; asked after prepare (install knows its installer only then). */
  published(): PublishedImage;
  /** Base kernel command line (xCAT's bootparams.kcmdline); throws NodeError/KcmdlineError/DataError for this node. */
  kcmdline(n: NodeBootInput): string;
  /** The line the loader boots; default: the base with the node's and image's addkcmdline (kcmdline.ts fullKcmdline). */
  bootKcmdline?(base: string, n: NodeBootInput): string;
  /** The node's identity overlay; none: no overlay and no host key (install: the installer sets the node up). */
  overlay?: OverlayFlavor;
  /** Files the method wrote for the node, listed before its loader files (install: the answer file). */
  nodeFiles?(node: string): string[];
  /**
   * A marker URL the node itself creates when its provisioning is done (install: the installer's
   * HTTP PUT); while it exists the node's iPXE script boots the local disk (loaders.ts).
   */
  doneMarker?(n: NodeBootInput): { url: string; file: string } | undefined;
  /** More node attributes written with the boot rows, the same names for every node (sysclone: nodelist.status). */
  rowAttrs?: Attrs;
}

/** <tftpdir>/xcat/overlay/<node>.cpio, which the loader hands the kernel after the image's initrds (overlay.ts). */
export interface OverlayFlavor {
  /** The image tree the overlay is fitted to (network stack, directory modes, systemd). */
  rootimg: string;
  /** Carry the node's postscripts (core/postscripts/node-files.ts): netboot and statelite run them at every boot; sysclone's plan has its own. */
  postscripts: boolean;
  /** Extra content for this node (statelite's per-node data), asked while the node is checked. */
  extra?(n: NodeBootInput): { files: MemoryEntry[]; net?: Partial<NodeNetwork> };
  /** The cpio from the node's identity; default: nodeOverlay at the published files' mtime (sysclone: its clone environment's). */
  build?(identity: OverlayInput, n: NodeBootInput): Buffer;
}

/** xCAT's image server and master for a node (xcat.md §4): hostnames stay as given. */
export function nodeBootInput(node: string, a: Attrs, site: SiteSettings, mac: string): NodeBootInput {
  const xcatMaster = a.xcatmaster || MYIPFN;
  const imgServer = [a.nfsserver, a.tftpserver].find((s) => s && s !== "<xcatmaster>") || xcatMaster;
  return { node, attrs: a, site, mac, xcatMaster, imgServer };
}

/** The fields baseKcmdline and its statelite sibling share. */
export function kcmdlineInput(ctx: Context, img: Image, n: NodeBootInput, imagePath: string): KcmdlineInput {
  const a = n.attrs;
  return {
    node: n.node,
    imgServer: n.imgServer,
    xcatMaster: n.xcatMaster,
    httpPort: ctx.config["http.port"],
    xcatdPort: n.site.xcatdPort,
    imagePath,
    flowControl: n.site.flowControl,
    noNodeStatus: n.site.noNodeStatus,
    arch: a.arch || img.attrs.osarch || "x86_64",
    serialport: a.serialport,
    serialspeed: a.serialspeed,
    serialflow: a.serialflow,
  };
}
