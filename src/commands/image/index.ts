import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "image", description: "define, show and remove OS images (xCAT lsdef/chdef/rmdef -t osimage)" },
  subCommands: {
    list: () => import("./list").then((m) => m.default),
    show: () => import("./show").then((m) => m.default),
    set: () => import("./set").then((m) => m.default),
    rm: () => import("./rm").then((m) => m.default),
    copy: () => import("./copy").then((m) => m.default),
    media: () => import("./media").then((m) => m.default),
    render: () => import("./render").then((m) => m.default),
    sign: () => import("./sign").then((m) => m.default),
    verify: () => import("./verify").then((m) => m.default),
    kernels: () => import("./kernels").then((m) => m.default),
  },
});
