import { type CommandDef, defineCommand } from "citty";
import { VERSION } from "../version";

/**
 * The command tree. Each entry loads its file only when that command runs, so `xcimg --help`
 * and `xcimg node list` never pay for ssh2 or tar.
 */
const load = (p: Promise<{ default: CommandDef }>) => () => p.then((m) => m.default);

export const root = defineCommand({
  meta: { name: "xcimg", version: VERSION, description: "OS images for HPC clusters: capture, pack, boot, clone, export/import, statelite" },
  subCommands: {
    capture: () => load(import("../commands/capture"))(),
    genimage: () => load(import("../commands/genimage"))(),
    pack: () => load(import("../commands/pack"))(),
    boot: () => load(import("../commands/boot"))(),
    lite: () => load(import("../commands/lite"))(),
    clone: () => load(import("../commands/clone"))(),
    dhcp: () => load(import("../commands/dhcp"))(),
    updatenode: () => load(import("../commands/updatenode"))(),
    export: () => load(import("../commands/export"))(),
    import: () => load(import("../commands/import"))(),
    image: () => load(import("../commands/image/index"))(),
    node: () => load(import("../commands/node/index"))(),
    group: () => load(import("../commands/group/index"))(),
    table: () => load(import("../commands/table/index"))(),
    db: () => load(import("../commands/db/index"))(),
    sn: () => load(import("../commands/sn/index"))(),
  },
});
