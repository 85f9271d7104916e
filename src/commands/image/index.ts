import { defineCommand } from "citty";
import { lazy } from "../../cli/command";

export default defineCommand({
  meta: { name: "image", description: "define, show and remove OS images (xCAT lsdef/chdef/rmdef -t osimage)" },
  subCommands: {
    list: lazy(() => import("./list")),
    show: lazy(() => import("./show")),
    set: lazy(() => import("./set")),
    rm: lazy(() => import("./rm")),
    copy: lazy(() => import("./copy")),
    media: lazy(() => import("./media")),
    render: lazy(() => import("./render")),
    sign: lazy(() => import("./sign")),
    verify: lazy(() => import("./verify")),
    kernels: lazy(() => import("./kernels")),
    layout: lazy(() => import("./layout")),
  },
});
