import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "table", description: "dump, restore and edit xCAT tables directly (tabdump/tabrestore/chtab)" },
  subCommands: {
    list: () => import("./list").then((m) => m.default),
    dump: () => import("./dump").then((m) => m.default),
    restore: () => import("./restore").then((m) => m.default),
    set: () => import("./set").then((m) => m.default),
    rm: () => import("./rm").then((m) => m.default),
  },
});
