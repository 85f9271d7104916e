import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import { enabledRow } from "../db/rows";
import { shq } from "../remote/shell";

/**
 * The scripts a cloned node runs, as xCAT orders them: the `xcatdefaults` row of the
 * postscripts table, then the image's osimage columns, then the node's own (or its groups')
 * attribute. postscripts run right after the copy, in the new system (chroot); postbootscripts
 * run once at the clone's first boot from its disk (a one-shot systemd unit that then disables
 * itself). The node fetches each from <installdir>/postscripts/<name> and runs it with xCAT's
 * basic variables (NODE, MASTER, OSVER, ARCH, PROFILE, IMAGENAME, ...).
 *
 * An entry is xCAT's `name arg1 arg2`: words split at white space, no quoting, as xCAT's
 * mypostscript runs them. Here the arguments reach the script as they are written, with no
 * shell in between (`$`, `;` and backquotes stay literal).
 *
 * xCAT's sysclone images list `efibootloader` and `update_network`, and its defaults
 * `remoteshell`: clone does their work itself (bootloader and UEFI boot entry, the node's
 * network configuration, root's authorized_keys and the node's SSH host key), so those names are
 * skipped rather than run without the xCAT environment they expect.
 */
export const BUILT_IN = ["efibootloader", "update_network", "remoteshell"];

export interface Postscript {
  name: string;
  args: string[];
}

export interface NodePostscripts {
  run: Postscript[];
  boot: Postscript[];
  builtIn: string[];
  /** Listed but not in <installdir>/postscripts (or not a plain file name). */
  missing: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** xCAT's comma-separated list, each entry `name [args...]`; an entry listed twice runs once. */
export function parsePostscripts(...lists: (string | null | undefined)[]): Postscript[] {
  const seen = new Set<string>();
  const out: Postscript[] = [];
  for (const entry of lists.flatMap((l) => (l ?? "").split(","))) {
    const words = entry.trim().split(/\s+/).filter(Boolean);
    const key = words.join(" ");
    if (!words.length || seen.has(key)) continue;
    seen.add(key);
    out.push({ name: words[0] as string, args: words.slice(1) });
  }
  return out;
}

export function nodePostscripts(config: Config, db: Db, image: { postscripts?: string; postbootscripts?: string }, node: { postscripts?: string; postbootscripts?: string }): NodePostscripts {
  const defaults = enabledRow(db, "postscripts", { node: "xcatdefaults" });
  const out: NodePostscripts = { run: [], boot: [], builtIn: [], missing: [] };
  const sort = (list: Postscript[], into: Postscript[]) => {
    for (const p of list) {
      if (BUILT_IN.includes(p.name)) out.builtIn.push(p.name);
      else if (!NAME.test(p.name) || !existsSync(join(config.installdir, "postscripts", p.name))) out.missing.push(p.name);
      else into.push(p);
    }
  };
  sort(parsePostscripts(defaults?.postscripts, image.postscripts, node.postscripts), out.run);
  sort(parsePostscripts(defaults?.postbootscripts, image.postbootscripts, node.postbootscripts), out.boot);
  return out;
}

/** As the entry reads in the table. */
export function describePostscript(p: Postscript): string {
  return [p.name, ...p.args].join(" ");
}

/** One line per script, each a shell word list (clone.sh: `eval "set -- $line"`). */
export function postscriptLines(list: Postscript[]): string {
  return list.map((p) => [p.name, ...p.args].map(shq).join(" ")).join("\n");
}
