import { defineProvMethod } from "../types";
import { boot } from "./boot";
import { pack } from "./pack";

/** Stateless diskless nodes: the packed root image runs from RAM (tmpfs). */
export default defineProvMethod({
  name: "netboot",
  description: "stateless diskless: the packed root image runs in RAM",
  pack,
  boot,
});
