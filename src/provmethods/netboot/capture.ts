import { captureNode } from "../../core/capture/capture";
import type { OperationFns } from "../types";

/** capture -t diskless: a golden node's files become this image's rootimg/ (core/capture). */
export const capture: OperationFns["capture"] = (ctx, req) => captureNode(ctx, { ...req, type: "diskless" });
