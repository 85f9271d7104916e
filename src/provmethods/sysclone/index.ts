import { asExportRequest, exportImage } from "../../core/bundle/export";
import { defineProvMethod } from "../types";
import { syscloneExport } from "./export";

/** Diskful nodes cloned from a captured golden node. */
export default defineProvMethod({
  name: "sysclone",
  description: "diskful clones of a captured golden node",
  export: (ctx, img, req) => exportImage(ctx, img, asExportRequest(req), syscloneExport),
});
