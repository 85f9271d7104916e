import { captureNode } from "../../core/capture/capture";
import { captureRequest } from "../../core/capture/request";
import type { OperationFns } from "../types";

/** capture -t diskless: a golden node's files become this image's rootimg/ (core/capture). */
export const capture: OperationFns["capture"] = (ctx, req) => captureNode(ctx, captureRequest(req, "diskless"));
