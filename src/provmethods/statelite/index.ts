import { defineProvMethod } from "../types";
import { lite } from "./lite";

/** A shared read-only root (NFS or ramdisk) with per-node tmpfs and persistent files. */
export default defineProvMethod({
  name: "statelite",
  description: "shared read-only root with per-node tmpfs and persistent files (litefile table)",
  lite,
});
