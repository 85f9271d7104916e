import type { BootResult } from "../../core/boot/boot";
import type { Context } from "../../core/context";
import type { Image } from "../../core/defs/image";
import type { BootRequest } from "../types";
import { bootStatelite } from "./boot-flavor";

/** xCAT nodeset <noderange> osimage=<image> for statelite images (NFS or ramdisk root). */
export async function boot(ctx: Context, img: Image, req: BootRequest): Promise<BootResult> {
  return bootStatelite(ctx, img, req.nodes, req);
}
