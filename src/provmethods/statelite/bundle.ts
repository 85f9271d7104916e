import type { BundleHooks } from "../../core/bundle/method";
import { collect } from "./export";
import { plan } from "./import";

/** statelite's part of `xcimg export` and `xcimg import` (src/core/bundle/method.ts). */
export const hooks: BundleHooks = { collect, plan };
