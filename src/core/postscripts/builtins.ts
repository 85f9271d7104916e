import type { MemoryEntry } from "../archive/cpio";
import confignetwork from "./builtins/confignetwork.sh" with { type: "text" };
import hardeths from "./builtins/hardeths.sh" with { type: "text" };
import netconf from "./builtins/lib/netconf.sh" with { type: "text" };
import otherpkgs from "./builtins/otherpkgs.sh" with { type: "text" };
import setupntp from "./builtins/setupntp.sh" with { type: "text" };
import syslog from "./builtins/syslog.sh" with { type: "text" };

/**
 * xcimg's own scripts for xCAT's default postscripts a site lists by name (the xcatdefaults
 * row `syslog,remoteshell,syncfiles`, and commonly otherpkgs, confignetwork, setupntp,
 * hardeths). Written for xcimg, not copied from xCAT: POSIX sh (busybox ash, dash), xCAT's
 * variables from the node's mypostscript (environment.ts), every failure a message and a
 * non-zero exit. They travel with the node's runner — in its overlay at boot, uploaded by
 * `updatenode -P` — rather than through <installdir>/postscripts: they are this binary's
 * version, and a site's directory copied from xCAT keeps its own files of those names
 * (whose helpers, xcatlib.sh and nicutils.sh, the runner does not fetch) untouched. For a name
 * listed here the built-in runs, whatever <installdir>/postscripts holds.
 *
 * remoteshell and syncfiles need no script: root's keys and the host key come in the overlay,
 * synclists are applied by pack/lite and `updatenode -F` (BUILT_IN_NETBOOT in order.ts).
 */
const SCRIPTS: Record<string, string> = { syslog, setupntp, hardeths, confignetwork, otherpkgs };
/** Sourced by the network scripts, from lib/ next to them. */
const NEEDS_NETCONF = new Set(["hardeths", "confignetwork"]);

/** Where the runner finds them on the node (runner.sh: a list entry of that name runs from here). */
export const BUILTINS_DIR = "/etc/xcimg/builtins";

export const BUILTIN_SCRIPT_NAMES: readonly string[] = Object.keys(SCRIPTS);

/** The files of the built-ins named (others ignored), paths relative to the node's root. */
export function builtinFiles(names: Iterable<string>): MemoryEntry[] {
  const dir = BUILTINS_DIR.slice(1);
  const out: MemoryEntry[] = [];
  let lib = false;
  for (const name of new Set(names)) {
    const text = SCRIPTS[name];
    if (text === undefined) continue;
    out.push({ name: `${dir}/${name}`, mode: 0o100755, data: text });
    lib ||= NEEDS_NETCONF.has(name);
  }
  if (lib) out.push({ name: `${dir}/lib/netconf.sh`, mode: 0o100644, data: netconf });
  return out;
}
