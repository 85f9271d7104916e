import { exportImage } from "../../core/bundle/export";
import { defineProvMethod } from "../types";
import { syscloneExport } from "./export";
import { facts } from "./facts";
import { syscloneImport } from "./import";

/** Diskful nodes cloned from a captured golden node. */
export default defineProvMethod({
  name: facts.name,
  description: facts.description,
  export: (ctx, img, req) => exportImage(ctx, img, req, syscloneExport),
  import: (ctx, req) => syscloneImport(ctx, req),
  capture: (ctx, req) => import("./capture").then((m) => m.capture(ctx, req)),
  clone: (ctx, img, req) => import("./clone").then((m) => m.clone(ctx, img, req)),
});
