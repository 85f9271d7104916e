import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import { enabledRow, type Row } from "../db/rows";
import { shq } from "../remote/shell";

/**
 * The scripts a node runs, in xCAT's order (xCAT-server/lib/perl/xCAT/Postage.pm getScripts /
 * getPostScripts): the `xcatdefaults` row of the postscripts table, then the osimage's
 * postscripts column, then the node's own attribute (its row, else its groups', as lsdef
 * resolves it); an entry listed twice runs once. Every provisioning method uses this one
 * resolution: clone runs the list in a chroot and at first boot, netboot and statelite nodes at
 * each boot (core/postscripts/node-files.ts), and `updatenode -P` on running nodes.
 *
 * An entry is xCAT's `name arg1 arg2`: words split at white space, no quoting, as xCAT's
 * mypostscript runs them. Here the arguments reach the script as they are written, with no
 * shell in between (`$`, `;` and backquotes stay literal).
 *
 * Some of xCAT's default postscripts do work xcimg does itself (BUILT_IN): they are listed as
 * such, never run without the xCAT environment they expect. Others xcimg provides as its own
 * scripts (builtins.ts): a caller whose node side carries them passes their names
 * (`scripts`), and those entries stay in the lists, in xCAT's order, whether or not
 * <installdir>/postscripts has a file of that name (`xcimg` says which ones).
 */
export const BUILT_IN = ["efibootloader", "update_network", "remoteshell"];

/**
 * What netboot and statelite nodes get from xcimg instead: root's authorized_keys and the
 * node's SSH host key come in its overlay (remoteshell), synclists are applied by pack/lite
 * and `updatenode -F` (syncfiles).
 */
export const BUILT_IN_NETBOOT = ["remoteshell", "syncfiles"];

export interface Postscript {
  name: string;
  args: string[];
}

export interface NodePostscripts {
  run: Postscript[];
  boot: Postscript[];
  builtIn: string[];
  /** Entries of run/boot that are xcimg's own scripts (builtins.ts), not <installdir>/postscripts files. */
  xcimg: string[];
  /** Listed but not in <installdir>/postscripts (or not a plain file name). */
  missing: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** A postscript name that can be a file name in <installdir>/postscripts and on the node. */
export function isPostscriptName(name: string): boolean {
  return NAME.test(name);
}

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

/**
 * What nodePostscripts looks up that is the same for every node: the xcatdefaults row and
 * which names <installdir>/postscripts holds. One per command, so `xcimg boot` of 10,000
 * nodes makes one query and one stat per script name, not one per node.
 */
export interface ScriptLookups {
  defaults: Row | null;
  present(name: string): boolean;
}

export function scriptLookups(config: Config, db: Db): ScriptLookups {
  const seen = new Map<string, boolean>();
  return {
    defaults: enabledRow(db, "postscripts", { node: "xcatdefaults" }),
    present(name) {
      let there = seen.get(name);
      if (there === undefined) {
        there = existsSync(join(config.installdir, "postscripts", name));
        seen.set(name, there);
      }
      return there;
    },
  };
}

export function nodePostscripts(
  config: Config,
  db: Db,
  image: { postscripts?: string; postbootscripts?: string },
  node: { postscripts?: string; postbootscripts?: string },
  builtIn: readonly string[] = BUILT_IN,
  scripts: readonly string[] = [],
  shared: ScriptLookups = scriptLookups(config, db),
): NodePostscripts {
  const { defaults } = shared;
  const out: NodePostscripts = { run: [], boot: [], builtIn: [], xcimg: [], missing: [] };
  const sort = (list: Postscript[], into: Postscript[]) => {
    for (const p of list) {
      if (builtIn.includes(p.name)) out.builtIn.push(p.name);
      else if (scripts.includes(p.name)) {
        into.push(p);
        if (!out.xcimg.includes(p.name)) out.xcimg.push(p.name);
      } else if (!NAME.test(p.name) || !shared.present(p.name)) out.missing.push(p.name);
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

/** One line per script, each a shell word list (the node runs `eval "set -- $line"`). */
export function postscriptLines(list: Postscript[]): string {
  return list.map((p) => [p.name, ...p.args].map(shq).join(" ")).join("\n");
}
