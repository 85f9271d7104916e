import { type BootResult, bootImage } from "../../core/boot/boot";
import type { Context } from "../../core/context";
import type { Image } from "../../core/defs/image";

/** xCAT nodeset <noderange> osimage=<image> for stateless images. */
export async function boot(ctx: Context, img: Image, req: { nodes: string[] }): Promise<BootResult> {
  return bootImage(ctx, img, req.nodes);
}
