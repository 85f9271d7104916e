import { exportImage } from "../../core/bundle/export";
import { defineProvMethod } from "../types";
import { boot } from "./boot";
import { netbootExport } from "./export";
import { facts } from "./facts";
import { netbootImport } from "./import";
import { pack } from "./pack";

/** Stateless diskless nodes: the packed root image runs from RAM (tmpfs). */
export default defineProvMethod({
  name: facts.name,
  description: facts.description,
  export: (ctx, img, req) => exportImage(ctx, img, req, netbootExport),
  import: (ctx, req) => netbootImport(ctx, req),
  pack,
  boot,
  capture: (ctx, req) => import("./capture").then((m) => m.capture(ctx, req)),
});
