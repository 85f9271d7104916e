import type { Context } from "../../core/context";
import type { Image } from "../../core/defs/image";
import { liteImage } from "./liteimg";

/** statelite's `lite` operation: xCAT liteimg (the listing, lslite -i, is not provmethod-bound). */
export async function lite(ctx: Context, img: Image, req: Record<string, unknown>) {
  return liteImage(ctx, img, { syncfiles: !req.nosyncfiles });
}
