import { defineProvMethod } from "../types";
import { prepareInstall } from "./prepare";

/** Unattended OS installs from kickstart/AutoYaST/preseed templates and copied media. */
export default defineProvMethod({
  name: "install",
  description: "install the OS from its media with a rendered kickstart, AutoYaST or preseed template",
  boot: (ctx, img, req) => prepareInstall(ctx, img, req.nodes),
});
