import { defineProvMethod } from "../types";
import { bootInstall } from "./boot";
import { facts } from "./facts";

/** Unattended OS installs from kickstart/AutoYaST/preseed templates and copied media. */
export default defineProvMethod({
  name: facts.name,
  description: facts.description,
  boot: (ctx, img, req) => bootInstall(ctx, img, req.nodes, req),
});
