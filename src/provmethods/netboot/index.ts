import { defineProvMethod } from "../types";
import { boot } from "./boot";
import { facts } from "./facts";
import { pack } from "./pack";

/** Stateless diskless nodes: the packed root image runs from RAM (tmpfs). */
export default defineProvMethod({
  name: facts.name,
  description: facts.description,
  pack,
  boot,
  capture: (ctx, req) => import("./capture").then((m) => m.capture(ctx, req)),
});
