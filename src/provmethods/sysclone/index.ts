import { asExportRequest, exportImage } from "../../core/bundle/export";
import { asImageImport } from "../../core/bundle/import";
import { defineProvMethod } from "../types";
import { syscloneExport } from "./export";
import { facts } from "./facts";
import { syscloneImport } from "./import";

/** Diskful nodes cloned from a captured golden node. */
export default defineProvMethod({
  ...facts,
  export: (ctx, img, req) => exportImage(ctx, img, asExportRequest(req), syscloneExport),
  import: (ctx, req) => syscloneImport(ctx, asImageImport(req)),
  capture: (ctx, req) => import("./capture").then((m) => m.capture(ctx, req)),
  clone: (ctx, img, req) => import("./clone").then((m) => m.clone(ctx, img, req)),
});
