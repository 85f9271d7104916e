import { defineCommand } from "citty";
import { lazy } from "../../cli/command";

export default defineCommand({
  meta: { name: "group", description: "static and dynamic node groups (xCAT mkdef/chdef/lsdef/rmdef -t group)" },
  subCommands: {
    set: lazy(() => import("./set")),
    show: lazy(() => import("./show")),
    rm: lazy(() => import("./rm")),
  },
});
