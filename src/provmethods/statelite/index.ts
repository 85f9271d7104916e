import { asExportRequest, exportImage } from "../../core/bundle/export";
import { asImageImport } from "../../core/bundle/import";
import { defineProvMethod } from "../types";
import { boot } from "./boot";
import { stateliteExport } from "./export";
import { facts } from "./facts";
import { stateliteImport } from "./import";
import { lite } from "./lite";

/** A shared read-only root (NFS or ramdisk) with per-node tmpfs and persistent files. */
export default defineProvMethod({
  ...facts,
  lite,
  boot,
  export: (ctx, img, req) => exportImage(ctx, img, asExportRequest(req), stateliteExport),
  import: (ctx, req) => stateliteImport(ctx, asImageImport(req)),
});
