import { asExportRequest, exportImage } from "../../core/bundle/export";
import { asImageImport } from "../../core/bundle/import";
import { defineProvMethod } from "../types";
import { bootInstall } from "./boot";
import { installExport } from "./export";
import { installImport } from "./import";

/** Unattended OS installs from kickstart/AutoYaST/preseed templates and copied media. */
export default defineProvMethod({
  name: "install",
  description: "install the OS from its media with a rendered kickstart, AutoYaST or preseed template",
  boot: (ctx, img, req) => bootInstall(ctx, img, req.nodes),
  export: (ctx, img, req) => exportImage(ctx, img, asExportRequest(req), installExport),
  import: (ctx, req) => installImport(ctx, asImageImport(req)),
});
