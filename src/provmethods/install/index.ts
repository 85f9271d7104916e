import { exportImage } from "../../core/bundle/export";
import { defineProvMethod } from "../types";
import { bootInstall } from "./boot";
import { installExport } from "./export";
import { facts } from "./facts";
import { installImport } from "./import";

/** Unattended OS installs from kickstart/AutoYaST/preseed templates and copied media. */
export default defineProvMethod({
  name: facts.name,
  description: facts.description,
  boot: (ctx, img, req) => bootInstall(ctx, img, req.nodes),
  export: (ctx, img, req) => exportImage(ctx, img, req, installExport),
  import: (ctx, req) => installImport(ctx, req),
});
