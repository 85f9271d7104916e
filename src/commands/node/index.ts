import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "node", description: "define, list, show and remove nodes (xCAT mkdef/chdef/lsdef/rmdef -t node)" },
  subCommands: {
    set: () => import("./set").then((m) => m.default),
    list: () => import("./list").then((m) => m.default),
    show: () => import("./show").then((m) => m.default),
    rm: () => import("./rm").then((m) => m.default),
    status: () => import("./status").then((m) => m.default),
  },
});
