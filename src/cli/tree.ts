import { defineCommand } from "citty";
import { VERSION } from "../version";
import { lazy } from "./command";

/** The command tree; each command's file loads only when it runs (lazy, in command.ts). */
export const root = defineCommand({
  meta: { name: "xcimg", version: VERSION, description: "OS images for HPC clusters: capture, pack, boot, clone, export/import, statelite" },
  subCommands: {
    capture: lazy(() => import("../commands/capture")),
    genimage: lazy(() => import("../commands/genimage")),
    pack: lazy(() => import("../commands/pack")),
    boot: lazy(() => import("../commands/boot")),
    lite: lazy(() => import("../commands/lite")),
    clone: lazy(() => import("../commands/clone")),
    dhcp: lazy(() => import("../commands/dhcp")),
    updatenode: lazy(() => import("../commands/updatenode")),
    export: lazy(() => import("../commands/export")),
    import: lazy(() => import("../commands/import")),
    image: lazy(() => import("../commands/image/index")),
    node: lazy(() => import("../commands/node/index")),
    group: lazy(() => import("../commands/group/index")),
    table: lazy(() => import("../commands/table/index")),
    db: lazy(() => import("../commands/db/index")),
    sn: lazy(() => import("../commands/sn/index")),
  },
});
