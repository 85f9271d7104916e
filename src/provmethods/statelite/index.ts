import { defineProvMethod } from "../types";
import { boot } from "./boot";
import { facts } from "./facts";
import { lite } from "./lite";

/** A shared read-only root (NFS or ramdisk) with per-node tmpfs and persistent files. */
export default defineProvMethod({
  ...facts,
  lite,
  boot,
});
