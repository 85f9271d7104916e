import { asExportRequest, exportImage } from "../../core/bundle/export";
import { asImageImport } from "../../core/bundle/import";
import { defineProvMethod } from "../types";
import { syscloneExport } from "./export";
import { syscloneImport } from "./import";

/** Diskful nodes cloned from a captured golden node. */
export default defineProvMethod({
  name: "sysclone",
  description: "diskful clones of a captured golden node",
  export: (ctx, img, req) => exportImage(ctx, img, asExportRequest(req), syscloneExport),
  import: (ctx, req) => syscloneImport(ctx, asImageImport(req)),
  capture: (ctx, req) => import("./capture").then((m) => m.capture(ctx, req)),
});
