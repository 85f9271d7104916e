import { asExportRequest, exportImage } from "../../core/bundle/export";
import { asImageImport } from "../../core/bundle/import";
import { defineProvMethod } from "../types";
import { boot } from "./boot";
import { netbootExport } from "./export";
import { facts } from "./facts";
import { netbootImport } from "./import";
import { pack } from "./pack";

/** Stateless diskless nodes: the packed root image runs from RAM (tmpfs). */
export default defineProvMethod({
  ...facts,
  export: (ctx, img, req) => exportImage(ctx, img, asExportRequest(req), netbootExport),
  import: (ctx, req) => netbootImport(ctx, asImageImport(req)),
  pack,
  boot,
  capture: (ctx, req) => import("./capture").then((m) => m.capture(ctx, req)),
});
