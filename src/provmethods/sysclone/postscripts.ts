/**
 * clone's postscripts: the shared resolution in core/postscripts/order.ts (xcatdefaults, then
 * the osimage's, then the node's), with clone's built-ins (bootloader, network, remote shell).
 *
 * xcimg's own scripts for xCAT's defaults (core/postscripts/builtins.ts: syslog, setupntp,
 * hardeths, confignetwork, otherpkgs) are not passed as runnable here: clone.sh fetches every
 * entry of its list from <installdir>/postscripts and runs it in the new system with a short
 * environment, not the runner with a mypostscript. So for a clone, such a name runs the site's
 * file of that name, or is reported as skipped, as before. Once clones run their list through
 * the shared runner, pass BUILTIN_SCRIPT_NAMES to nodePostscripts and put
 * builtinFiles(scripts.xcimg) into the target (docs/postscripts.md, Limits).
 */
export {
  describePostscript,
  type NodePostscripts,
  nodePostscripts,
  type Postscript,
  parsePostscripts,
  postscriptLines,
} from "../../core/postscripts/order";
