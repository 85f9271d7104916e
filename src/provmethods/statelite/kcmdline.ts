import { KcmdlineError, type KcmdlineInput, kcmdlineTail } from "../../core/boot/kcmdline";

/**
 * The kernel command line of a statelite node, as xCAT's anaconda.pm mkstatelite builds it
 * (xcat.md §4.1), spacing included:
 *
 *   NFS:     root=nfs:<nfssrv>:<nfsdir>/rootimg:ro[,<nfsrootopts>] STATEMNT=<statemnt> XCAT=<master>:<port> NODE=<node> [ nonodestatus ]XCATHTTPPORT=<port> [ console=...] MNTOPTS=<mntopts>
 *   ramdisk: imgurl=http://<imgsrv>:<port><path>/rootimg-statelite.gz STATEMNT=<statemnt> XCAT=... (the same)
 *
 * No FC= (xCAT adds it for stateless nodes only). xcimg's initrd reads root=, STATEMNT= and
 * MNTOPTS=; imgurl= only names what the boot loader already loaded.
 */
export interface StateliteKcmdlineInput extends KcmdlineInput {
  ramdisk: boolean;
  /** The directory holding rootimg/ as the NFS server exports it. */
  nfsDir: string;
  nfsRootOpts?: string;
  statemnt: string;
  mntopts: string;
}

export function stateliteKcmdline(k: StateliteKcmdlineInput): string {
  let s = k.ramdisk ? `imgurl=http://${k.imgServer}:${k.httpPort}${k.imagePath} ` : `${nfsRootParameter(k.imgServer, `${k.nfsDir}/rootimg`, k.nfsRootOpts)} `;
  s += `STATEMNT=${k.statemnt} `;
  s += `XCAT=${k.xcatMaster}:${k.xcatdPort} `;
  s += `NODE=${k.node} `;
  s += kcmdlineTail(k);
  s += ` MNTOPTS=${k.mntopts}`;
  return s;
}

/** SvrUtils::build_statelite_nfsroot_parameter: always ro, osimage.nfsrootopts after it. */
export function nfsRootParameter(server: string, rootdir: string, extra?: string): string {
  const opts = ["ro"];
  if (extra !== undefined && extra !== "") {
    for (const o of extra.split(",")) {
      if (o === "" || /\s/.test(o)) throw new KcmdlineError("nfsrootopts must be a comma-separated list without whitespace or empty options");
      const name = (o.split("=")[0] as string).toLowerCase();
      if (name === "rw" || name === "defaults") throw new KcmdlineError(`nfsrootopts cannot contain '${name}'; statelite NFS roots are always read-only`);
      if (o.toLowerCase() === "ro") continue;
      opts.push(o);
    }
  }
  return `root=nfs:${server}:${rootdir}:${opts.join(",")}`;
}

/**
 * Where the node mounts the image from: rootimgdir, or noderes.nfsdir + /netboot/<os>/<arch>/<profile>
 * ("//path" means the path itself, with one slash dropped: xCAT's escape for absolute nfsdirs).
 */
export function nfsDirFor(rootimgdir: string, nfsdir: string | undefined, osvers: string, arch: string, profile: string): string {
  if (!nfsdir) return rootimgdir;
  if (nfsdir.startsWith("//")) return nfsdir.slice(1);
  return `${nfsdir}/netboot/${osvers}/${arch}/${profile}`;
}
