import type { MemoryEntry } from "../../core/archive/cpio";
import type { Config } from "../../core/config/schema";
import type { Db } from "../../core/db/open";
import type { Attrs } from "../../core/defs/object";
import { BUILTIN_SCRIPT_NAMES, builtinFiles } from "../../core/postscripts/builtins";
import { type EnvInput, postscriptEnv } from "../../core/postscripts/environment";
import { mypostscript } from "../../core/postscripts/node-files";
import { BUILT_IN, type NodePostscripts, nodePostscripts } from "../../core/postscripts/order";
import { RUNNER_SCRIPT } from "../../core/postscripts/runner";

/**
 * clone's postscripts: the shared resolution in core/postscripts/order.ts (xcatdefaults, then
 * the osimage's, then the node's), with clone's built-ins (bootloader, network, remote shell),
 * and xcimg's own scripts for xCAT's defaults (core/postscripts/builtins.ts: syslog, setupntp,
 * hardeths, confignetwork, otherpkgs) as runnable: for those names the built-in runs, whatever
 * <installdir>/postscripts holds, as on netboot and install nodes.
 *
 * clone.sh fetches every other entry from <installdir>/postscripts and runs it in the new
 * system itself; a built-in entry it hands to the shared runner (core/postscripts/runner.sh,
 * `run` mode) in the new system, with the node's mypostscript. So the plan's directory in the
 * clone environment carries, per node (cloneScriptFiles): the runner, the built-ins the node
 * lists and its mypostscript, which clone.sh copies into the new system where the runner
 * looks for them (/etc/xcimg/postscripts.sh, /etc/xcimg/builtins/, /xcatpost/mypostscript).
 */
export function clonePostscripts(config: Config, db: Db, image: Attrs, node: Attrs): NodePostscripts {
  return nodePostscripts(config, db, image, node, BUILT_IN, BUILTIN_SCRIPT_NAMES);
}

/** Where, in the clone environment, the plan's postscript files lie (clone.sh's $XC_DIR). */
const CLONE_DIR = "etc/xcimg/clone";

/** The node's runner, built-ins and mypostscript for the clone environment's overlay; none when it lists no built-in. */
export function cloneScriptFiles(config: Config, db: Db, i: Omit<EnvInput, "state">, s: NodePostscripts): MemoryEntry[] {
  if (!s.xcimg.length) return [];
  const vars = postscriptEnv(config, db, { ...i, state: "install" });
  const builtins = builtinFiles(s.xcimg).map((f) => ({ ...f, name: `${CLONE_DIR}/${f.name.slice("etc/xcimg/".length)}` }));
  return [
    { name: `${CLONE_DIR}/postscripts.sh`, mode: 0o100755, data: RUNNER_SCRIPT },
    { name: `${CLONE_DIR}/mypostscript`, mode: 0o100600, data: mypostscript(vars, s) },
    ...builtins,
  ];
}

export {
  describePostscript,
  type NodePostscripts,
  nodePostscripts,
  type Postscript,
  parsePostscripts,
  postscriptLines,
} from "../../core/postscripts/order";
