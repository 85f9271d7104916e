import { defineProvMethod } from "../types";

/** Stateless diskless nodes: the packed root image runs from RAM (tmpfs). */
export default defineProvMethod({
  name: "netboot",
  description: "stateless diskless: the packed root image runs in RAM",
  capture: (ctx, req) => import("./capture").then((m) => m.capture(ctx, req)),
});
