import { DataError } from "../../core/errors";
import { defineProvMethod } from "../types";
import { boot } from "./boot";
import { facts } from "./facts";
import { lite } from "./lite";
import { PROVMETHOD_MESSAGE } from "./liteimg";

/** A shared read-only root (NFS or ramdisk) with per-node tmpfs and persistent files. */
export default defineProvMethod({
  name: facts.name,
  description: facts.description,
  lite,
  boot,
  // liteimg's own words for an image of another provmethod (xCAT liteimg)
  refuseOthers: { lite: (image) => new DataError(PROVMETHOD_MESSAGE, { hint: `xcimg image set ${image} provmethod=statelite` }) },
});
