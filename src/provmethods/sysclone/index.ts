import { defineProvMethod } from "../types";

/** Diskful nodes cloned from a captured golden node. */
export default defineProvMethod({
  name: "sysclone",
  description: "diskful clones of a captured golden node",
  capture: (ctx, req) => import("./capture").then((m) => m.capture(ctx, req)),
});
