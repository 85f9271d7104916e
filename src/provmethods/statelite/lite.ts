import type { OperationFns } from "../types";
import { liteImage } from "./liteimg";

/** statelite's `lite` operation: xCAT liteimg (the listing, lslite -i, is not provmethod-bound). */
export const lite: OperationFns["lite"] = (ctx, img, req) => liteImage(ctx, img, { syncfiles: !req.nosyncfiles });
