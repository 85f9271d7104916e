import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "sn", description: "service nodes: pull what their nodes need from the management node and serve it (docs/service-nodes.md)" },
  subCommands: {
    sync: () => import("./sync").then((m) => m.default),
    snapshot: () => import("./snapshot").then((m) => m.default),
    status: () => import("./status").then((m) => m.default),
    move: () => import("./move").then((m) => m.default),
  },
});
