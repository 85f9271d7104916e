import { defineCommand } from "citty";
import { lazy } from "../../cli/command";

export default defineCommand({
  meta: { name: "table", description: "dump, restore and edit xCAT tables directly (tabdump/tabrestore/chtab)" },
  subCommands: {
    list: lazy(() => import("./list")),
    dump: lazy(() => import("./dump")),
    restore: lazy(() => import("./restore")),
    set: lazy(() => import("./set")),
    rm: lazy(() => import("./rm")),
  },
});
