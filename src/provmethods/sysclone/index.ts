import { defineProvMethod } from "../types";
import { facts } from "./facts";

/** Diskful nodes cloned from a captured golden node. */
export default defineProvMethod({
  name: facts.name,
  description: facts.description,
  capture: (ctx, req) => import("./capture").then((m) => m.capture(ctx, req)),
  clone: (ctx, img, req) => import("./clone").then((m) => m.clone(ctx, img, req)),
  layout: (ctx, img, req) => import("./image-layout").then((m) => m.imageLayout(ctx, img, req)),
});
