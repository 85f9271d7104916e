import { safeNodeFileName } from "../names";
import { safeBootLine, safeDigits, safeHost } from "./boot-values";

/**
 * The kernel command line of a stateless node, built as xCAT's anaconda.pm mknetboot builds
 * it (xcat.md §4.1), quirks of spacing included so files diff cleanly against xCAT's:
 *
 *   imgurl=http://<imgsrv>:<port><path>/rootimg.cpio.gz XCAT=<xcatmaster>:<xcatdport> NODE=<node>
 *   FC=<0|1> [ nonodestatus ]XCATHTTPPORT=<port> [ console=tty0 console=ttyS<p>,<speed>[n8r]]
 *
 * then the boot loader appends ` <addkcmdline>` (node's bootparams.addkcmdline, then the
 * image's linuximage.addkcmdline; only the volatile part, R:: entries are for installed
 * systems). `!myipfn!` stands for "the management node address facing this node" and is
 * replaced per boot loader (iPXE: ${next-server}).
 */
export const MYIPFN = "!myipfn!";

export interface KcmdlineInput {
  node: string;
  /** Image server and xCAT master as the node should see them, or MYIPFN. */
  imgServer: string;
  xcatMaster: string;
  httpPort: number;
  xcatdPort: number;
  /** URL path of the packed image, e.g. /install/netboot/debian12/x86_64/compute/rootimg.cpio.gz */
  imagePath: string;
  flowControl: boolean;
  noNodeStatus: boolean;
  arch: string;
  serialport?: string;
  serialspeed?: string;
  serialflow?: string;
}

export class KcmdlineError extends Error {}

export function baseKcmdline(k: KcmdlineInput): string {
  // every value below comes from the database; a space or newline in one would add arguments or lines
  safeNodeFileName(k.node);
  safeHost("the image server (noderes.nfsserver/tftpserver/xcatmaster)", k.imgServer);
  safeHost("noderes.xcatmaster", k.xcatMaster);
  safeBootLine("the image's URL path (linuximage.rootimgdir)", k.imagePath);
  let s = `imgurl=http://${k.imgServer}:${k.httpPort}${k.imagePath} `;
  s += `XCAT=${k.xcatMaster}:${k.xcatdPort} `;
  s += `NODE=${k.node} `;
  s += `FC=${k.flowControl ? 1 : 0} `;
  return s + kcmdlineTail(k);
}

/** What every diskless line ends with: [ nonodestatus ]XCATHTTPPORT=<port> [ console=...]. */
export function kcmdlineTail(k: KcmdlineInput): string {
  let s = "";
  if (k.noNodeStatus) s += " nonodestatus ";
  s += `XCATHTTPPORT=${k.httpPort} `;
  if (k.serialport !== undefined && k.serialport !== "") {
    if (!k.serialspeed) throw new KcmdlineError(`serialport defined, but no serialspeed for ${k.node} in nodehm table`);
    safeDigits("nodehm.serialport", k.serialport);
    safeDigits("nodehm.serialspeed", k.serialspeed);
    s += ` console=tty0 console=${/ppc64/i.test(k.arch) ? "hvc" : "ttyS"}${k.serialport},${k.serialspeed}`;
    if (/(hard|tcs|ctsrts)/.test(k.serialflow ?? "")) s += "n8r";
  }
  return s;
}

/** xCAT's splitkcmdline: the tokens without an R:: prefix, each followed by a space. */
export function volatilePart(addkcmdline: string): string {
  let out = "";
  for (const tok of addkcmdline.split(" ")) if (!tok.startsWith("R::")) out += `${tok} `;
  return out;
}

/** Base line plus ` <addkcmdline>` the way xnba.pm/grub2.pm/pxe.pm append it. */
export function fullKcmdline(base: string, nodeAdd?: string, imageAdd?: string): string {
  if (nodeAdd) safeBootLine("bootparams.addkcmdline", nodeAdd);
  if (imageAdd) safeBootLine("linuximage.addkcmdline", imageAdd);
  if (!nodeAdd && !imageAdd) return base;
  const combined = imageAdd ? `${nodeAdd ?? ""} ${imageAdd}` : (nodeAdd as string);
  return `${base} ${volatilePart(combined)}`;
}
