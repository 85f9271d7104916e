import { defineProvMethod } from "../types";

/** Unattended OS installs from kickstart/AutoYaST/preseed templates and copied media. */
export default defineProvMethod({
  name: "install",
  description: "install the OS from its media with a rendered kickstart, AutoYaST or preseed template",
});
