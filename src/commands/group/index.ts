import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "group", description: "static and dynamic node groups (xCAT mkdef/chdef/lsdef/rmdef -t group)" },
  subCommands: {
    set: () => import("./set").then((m) => m.default),
    show: () => import("./show").then((m) => m.default),
    rm: () => import("./rm").then((m) => m.default),
  },
});
