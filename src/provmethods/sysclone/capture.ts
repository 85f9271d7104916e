import { captureNode } from "../../core/capture/capture";
import type { OperationFns } from "../types";

/** capture -t sysclone: a golden node's files and disk layout become a clone image (core/capture). */
export const capture: OperationFns["capture"] = (ctx, req) => captureNode(ctx, { ...req, type: "sysclone" });
