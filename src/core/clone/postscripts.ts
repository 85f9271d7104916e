import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import { getRow } from "../db/rows";

/**
 * The postscripts a cloned node runs, as xCAT orders them: the `xcatdefaults` row of the
 * postscripts table, then the image's osimage.postscripts, then the node's own (or its
 * groups') postscripts attribute. The node fetches each from <installdir>/postscripts/<name>
 * and runs it in its new system (chroot) with xCAT's basic variables (NODE, MASTER, OSVER,
 * ARCH, PROFILE, IMAGENAME, ...). Postbootscripts (first boot) are not run.
 *
 * xCAT's sysclone images list `efibootloader` and `update_network`, and its defaults
 * `remoteshell`: clone does their work itself (bootloader and UEFI boot entry, the node's
 * network configuration, root's authorized_keys and the node's SSH host key), so those names are
 * skipped rather than run without the xCAT environment they expect.
 */
export const BUILT_IN = ["efibootloader", "update_network", "remoteshell"];

export interface NodePostscripts {
  run: string[];
  builtIn: string[];
  /** Listed but not in <installdir>/postscripts. */
  missing: string[];
}

export function nodePostscripts(config: Config, db: Db, imagePostscripts: string | undefined, nodePostscripts: string | undefined): NodePostscripts {
  const defaults = getRow(db, "postscripts", { node: "xcatdefaults" })?.postscripts ?? "";
  const names = [defaults, imagePostscripts ?? "", nodePostscripts ?? ""]
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s, i, all) => s && all.indexOf(s) === i);
  const out: NodePostscripts = { run: [], builtIn: [], missing: [] };
  for (const n of names) {
    if (BUILT_IN.includes(n)) out.builtIn.push(n);
    else if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(n) || !existsSync(join(config.installdir, "postscripts", n))) out.missing.push(n);
    else out.run.push(n);
  }
  return out;
}
