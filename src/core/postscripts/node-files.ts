import { join } from "node:path";
import type { MemoryEntry } from "../archive/cpio";
import { statIn } from "../boot/image-facts";
import { urlPath } from "../boot/paths";
import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import type { Attrs } from "../defs/object";
import { shq } from "../remote/shell";
import { BUILTIN_SCRIPT_NAMES, builtinFiles } from "./builtins";
import { type EnvInput, exportLines, postscriptEnv, type SiteScriptRows, siteScriptRows } from "./environment";
import { BUILT_IN_NETBOOT, describePostscript, type NodePostscripts, nodePostscripts, postscriptLines, type ScriptLookups, scriptLookups } from "./order";
import { RUNNER_PATH, RUNNER_SCRIPT } from "./runner";

/**
 * What a netboot or statelite node needs to run its postscripts at every boot without a
 * daemon, as files of its per-node overlay (already per node and readable only by the web
 * server's group, core/boot/served-perms.ts):
 *   /xcatpost/mypostscript                  xCAT's variables for this node (environment.ts)
 *   /xcatpost/xcimg-postscripts.list        the postscripts, one `'name' 'arg'...` line each
 *   /xcatpost/xcimg-postbootscripts.list    the postbootscripts
 *   /etc/xcimg/postscripts.env              where to fetch the scripts, what xcimg skipped
 *   /etc/xcimg/postscripts.sh               the runner (runner.sh)
 *   /etc/xcimg/builtins/<name>              xcimg's scripts for the xCAT default postscripts the
 *                                           node lists (builtins.ts; the runner runs these, not a fetched file)
 *   xcimg-postscripts.service, xcimg-postbootscripts.service and their multi-user.target.wants
 *   links, for images with systemd (the initrd's /init hooks the runner into other inits)
 * The scripts themselves are fetched at boot over HTTP from <installdir>/postscripts, the same
 * server the node booted from, so a changed site script reaches nodes at their next boot.
 */
export const POSTSCRIPTS_SERVICE = `# written by xcimg boot: the node's postscripts, at every boot (xCAT's xcatpostinit)
[Unit]
Description=xcimg: the node's postscripts
Wants=network-online.target
After=network-online.target systemd-networkd.service NetworkManager.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh ${RUNNER_PATH} post
StandardOutput=journal+console
TimeoutStartSec=infinity
`;

/** Type=idle: runs once every other boot job has been dispatched, i.e. once the system is up. */
export const POSTBOOTSCRIPTS_SERVICE = `# written by xcimg boot: the node's postbootscripts, once the system is up
[Unit]
Description=xcimg: the node's postbootscripts
After=xcimg-postscripts.service

[Service]
Type=idle
RemainAfterExit=yes
ExecStart=/bin/sh ${RUNNER_PATH} postboot
StandardOutput=journal+console
TimeoutStartSec=infinity
`;

export interface NodeScriptsInput extends EnvInput {
  /** The image's tree has systemd (or could not be inspected): install the units. */
  systemd: boolean;
}

export interface NodeScripts {
  files: MemoryEntry[];
  scripts: NodePostscripts;
  /** For the boot's log: names neither xcimg nor <installdir>/postscripts provide. */
  warning?: string;
}

/** The mypostscript file: xCAT's exports, then its postscript markers with the lists as comments. */
export function mypostscript(vars: [string, string][], s: NodePostscripts): string {
  const listed = (l: typeof s.run) => l.map((p) => `# ${describePostscript(p)}\n`).join("");
  return [
    "# written by xcimg for this node: xCAT's mypostscript variables (sourced by /etc/xcimg/postscripts.sh)\n",
    exportLines(vars),
    "# postscripts-start-here\n",
    listed(s.run),
    "# postscripts-end-here\n",
    "# postbootscripts-start-here\n",
    listed(s.boot),
    "# postbootscripts-end-here\n",
  ].join("");
}

export function postscriptsUrl(config: Config, master: string): string {
  const host = master.includes(":") ? `[${master}]` : master;
  return `http://${host}:${config["http.port"]}${urlPath(config, join(config.installdir, "postscripts"))}`;
}

/** The site-wide lookups of nodeScriptFiles, made once for a command that renders many nodes. */
export interface SharedScriptData {
  env: SiteScriptRows;
  lookups: ScriptLookups;
}

export function sharedScriptData(config: Config, db: Db): SharedScriptData {
  return { env: siteScriptRows(config, db), lookups: scriptLookups(config, db) };
}

export function nodeScriptFiles(config: Config, db: Db, i: NodeScriptsInput, shared: SharedScriptData = sharedScriptData(config, db)): NodeScripts {
  const scripts = nodePostscripts(config, db, i.image.attrs, i.attrs as Attrs, BUILT_IN_NETBOOT, BUILTIN_SCRIPT_NAMES, shared.lookups);
  const vars = postscriptEnv(config, db, i, shared.env);
  const runnerEnv = [
    "# written by xcimg boot; read by /etc/xcimg/postscripts.sh",
    `XCIMG_POSTSCRIPTS_URL=${shq(postscriptsUrl(config, i.master))}`,
    `XCIMG_SKIPPED=${shq(scripts.missing.join(" "))}`,
    `XCIMG_BUILTIN=${shq(scripts.builtIn.join(" "))}`,
    "",
  ].join("\n");
  const list = (l: typeof scripts.run) => (l.length ? `${postscriptLines(l)}\n` : "");
  const files: MemoryEntry[] = [
    { name: "xcatpost/mypostscript", mode: 0o100600, data: mypostscript(vars, scripts) },
    { name: "xcatpost/xcimg-postscripts.list", mode: 0o100644, data: list(scripts.run) },
    { name: "xcatpost/xcimg-postbootscripts.list", mode: 0o100644, data: list(scripts.boot) },
    { name: "etc/xcimg/postscripts.env", mode: 0o100644, data: runnerEnv },
    { name: RUNNER_PATH.slice(1), mode: 0o100755, data: RUNNER_SCRIPT },
    ...builtinFiles(scripts.xcimg),
  ];
  if (i.systemd) {
    const wants = "etc/systemd/system/multi-user.target.wants";
    files.push(
      { name: "etc/systemd/system/xcimg-postscripts.service", mode: 0o100644, data: POSTSCRIPTS_SERVICE },
      { name: "etc/systemd/system/xcimg-postbootscripts.service", mode: 0o100644, data: POSTBOOTSCRIPTS_SERVICE },
      { name: `${wants}/xcimg-postscripts.service`, mode: 0o120777, data: "/etc/systemd/system/xcimg-postscripts.service" },
      { name: `${wants}/xcimg-postbootscripts.service`, mode: 0o120777, data: "/etc/systemd/system/xcimg-postbootscripts.service" },
    );
  }
  const warning = scripts.missing.length
    ? `${i.node}: postscripts not in ${join(config.installdir, "postscripts")} (the node reports them as not run at each boot): ${scripts.missing.join(", ")}`
    : undefined;
  return { files, scripts, warning };
}

/** Does the image boot systemd? An image known only by its packed archive is assumed to (the units are inert elsewhere). */
export function imageHasSystemd(rootimg: string): boolean {
  if (!statIn(rootimg, "")) return true;
  return ["lib/systemd/systemd", "usr/lib/systemd/systemd"].some((p) => statIn(rootimg, p) !== null);
}
