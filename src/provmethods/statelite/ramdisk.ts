import { archiveTree } from "../../core/pack/archive-tree";
import { PathFilter, readExlists } from "../../core/pack/exlist";

/**
 * rootimg-statelite.gz for osimage.rootfstype=ramdisk: liteimg's
 *   find . [exlist] | cpio -H newc -o | pigz|gzip -c - > ../rootimg-statelite.gz
 * done by pack's archive writer (our cpio newc writer, gzip on every core, atomic replace so
 * a node booting meanwhile never downloads half an image, xCAT issue #1940). Unlike
 * packimage there is no -xdev and no statelite exclude: .statelite/.default are the point.
 */
export interface PackResult {
  file: string;
  compress: "gzip";
  bytes: number;
}

export async function packStateliteRamdisk(rootimg: string, out: string, exlist: string | undefined, signal?: AbortSignal): Promise<PackResult> {
  const rules = readExlists(exlist);
  const filter = new PathFilter({ excludes: rules.excludes, includes: rules.includes });
  const r = await archiveTree({ tree: rootimg, out, method: "cpio", compression: "gzip", filter, xdev: false, signal });
  return { file: out, compress: "gzip", bytes: r.packedBytes };
}
