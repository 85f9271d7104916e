import { existsSync } from "node:fs";
import { join } from "node:path";
import { type BootResult, bootNodes } from "../../core/boot/boot";
import { type BootFlavor, kcmdlineInput } from "../../core/boot/flavor";
import { baseKcmdline } from "../../core/boot/kcmdline";
import { urlPath } from "../../core/boot/paths";
import { publishImage } from "../../core/boot/publish";
import type { Context } from "../../core/context";
import { type Image, requireAttr } from "../../core/defs/image";
import { rootImgDir } from "../../core/image/paths";
import { guardTree } from "../../core/image/tree-barrier";
import type { BootRequest } from "../types";

/** xCAT nodeset <noderange> osimage=<image> for stateless images. */
export async function boot(ctx: Context, img: Image, req: BootRequest): Promise<BootResult> {
  return bootNodes(ctx, img, req.nodes, netbootFlavor(ctx, img), req);
}

/**
 * How a stateless node boots (xCAT anaconda.pm mknetboot): the image's kernel, its packed root
 * image and xcimg's initrd-stateless.gz published once (core/boot/publish.ts), the image URL
 * on the command line, and the node's identity and postscripts in its overlay. A squashfs or
 * tar image boots in two stages instead: the kernel gets initrd-fetch.gz, which fetches the
 * image from imgurl= (core/initrd/first-stage.ts) and puts the node's overlay, staged under
 * /.xcimg/overlay (an empty `extra`), on top of the root it assembled.
 */
function netbootFlavor(ctx: Context, img: Image): BootFlavor {
  const published = publishImage(ctx.config, img);
  const rootimg = join(rootImgDir(ctx.config, img), "rootimg");
  if (existsSync(rootimg)) guardTree(rootimg, ctx.log);
  return {
    currstate: `netboot ${requireAttr(img, "osvers")}-${requireAttr(img, "osarch")}-${requireAttr(img, "profile")}`,
    published: () => published,
    overlay: { rootimg, postscripts: true, ...(published.fetched ? { extra: () => ({ files: [] }) } : {}) },
    kcmdline: (n) => baseKcmdline(kcmdlineInput(ctx, img, n, urlPath(ctx.config, published.packed as string))),
  };
}
