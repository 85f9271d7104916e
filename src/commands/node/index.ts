import { defineCommand } from "citty";
import { lazy } from "../../cli/command";

export default defineCommand({
  meta: { name: "node", description: "define, list, show and remove nodes (xCAT mkdef/chdef/lsdef/rmdef -t node)" },
  subCommands: {
    set: lazy(() => import("./set")),
    list: lazy(() => import("./list")),
    show: lazy(() => import("./show")),
    rm: lazy(() => import("./rm")),
    status: lazy(() => import("./status")),
  },
});
