import { createHash } from "node:crypto";
import { join } from "node:path";
import type { MemoryEntry } from "../../core/archive/cpio";
import type { HostKey } from "../../core/boot/hostkeys";
import type { Config } from "../../core/config/schema";
import type { Db } from "../../core/db/open";
import type { Image } from "../../core/defs/image";
import type { Attrs } from "../../core/defs/object";
import { nodeScriptFiles, postscriptsUrl } from "../../core/postscripts/node-files";
import { shq } from "../../core/remote/shell";
import { httpPath } from "../../core/template/urls";
import firstboot from "./install-firstboot.sh" with { type: "text" };
import body from "./post-install.sh" with { type: "text" };

/**
 * An install node's postscripts without xcatd. xCAT's templates end with post.xcat, which asks
 * xcatd for the node's mypostscript, runs the postscripts in the installer's chroot and
 * installs xcatpostinit1 for the postbootscripts at first boot, which reports "installstatus
 * booted" to xcatd (xCAT-server/share/xcat/install/scripts/post.xcat, xcatinstallpost). xcimg
 * writes what a netboot node gets in its overlay (core/postscripts/node-files.ts) into one
 * per-node shell script, <installdir>/autoinst/<node>+post, 0640 to the web server's group and
 * served only to the node's own address like its answer file (core/boot/node-acl.ts): it holds
 * the node's SSH host key, so `xcimg node status` can trust the installed node as it trusts
 * netboot ones. The template fetches and runs it at its end (post-install.sh).
 */
export const POST_SUFFIX = "+post"; // '+' is never part of a node name (core/names.ts), so no node's answer file is called this

/** Where an installed node's "installed" marker lies, under installdir (the nginx DAV location, docs/install.md). */
export const MARKER_DIR = "xcimg-installed";

export const FIRSTBOOT_SERVICE = `# written by xcimg's install: the node's postbootscripts at first boot, its status at every boot
[Unit]
Description=xcimg: the installed node's postbootscripts
Wants=network-online.target
After=network-online.target

[Service]
Type=idle
RemainAfterExit=yes
ExecStart=/bin/sh /etc/xcimg/install-firstboot.sh
StandardOutput=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
`;

export interface PostInstallInput {
  node: string;
  attrs: Attrs;
  image: Image;
  /** The address the node reaches the management node's web server at. */
  master: string;
  mac?: string;
  hostKey: HostKey;
  /** root's authorized_keys (core/boot/site.ts authorizedKeys): xCAT's remoteshell on install nodes. */
  authorizedKeys: string;
  /** The node's marker URL, or undefined when it gets none (no hosts.ip). */
  markerUrl?: string;
}

export function markerUrl(config: Config, server: string, node: string): string {
  const host = server.includes(":") ? `[${server}]` : server;
  return `http://${host}:${config["http.port"]}${httpPath(join(config.installdir, MARKER_DIR, node), config.installdir)}`;
}

/** The node's <node>+post script, and a warning about postscripts nobody provides. */
export function postInstallScript(config: Config, db: Db, i: PostInstallInput): { text: string; warning?: string } {
  const s = nodeScriptFiles(config, db, { node: i.node, attrs: i.attrs, image: i.image, state: "install", master: i.master, mac: i.mac, systemd: false });
  // every script is fetched once, by the installer, into the target's /xcatpost: the installed
  // system may have neither curl nor wget, and its first boot must not depend on the network
  // remoteshell is done here (the keys below); syncfiles is not: an install applies no synclists,
  // so the node reports it as not run instead of "done by xcimg itself"
  const builtIn = s.scripts.builtIn.filter((n) => n !== "syncfiles");
  const skipped = [...s.scripts.missing, ...s.scripts.builtIn.filter((n) => n === "syncfiles")];
  const runnerEnv = [
    "# written by xcimg's install; read by /etc/xcimg/postscripts.sh",
    "XCIMG_POSTSCRIPTS_URL=''",
    `XCIMG_SKIPPED=${shq(skipped.join(" "))}`,
    `XCIMG_BUILTIN=${shq(builtIn.join(" "))}`,
    "",
  ].join("\n");
  const files: MemoryEntry[] = [
    ...s.files.filter((f) => f.name !== "etc/xcimg/postscripts.env"),
    { name: "etc/xcimg/postscripts.env", mode: 0o100644, data: runnerEnv },
    { name: "etc/xcimg/install-firstboot.sh", mode: 0o100755, data: firstboot },
    { name: "etc/systemd/system/xcimg-install-firstboot.service", mode: 0o100644, data: FIRSTBOOT_SERVICE },
    { name: "etc/ssh/ssh_host_ed25519_key", mode: 0o100600, data: i.hostKey.private },
    { name: "etc/ssh/ssh_host_ed25519_key.pub", mode: 0o100644, data: `${i.hostKey.public}\n` },
  ];
  if (i.authorizedKeys) files.push({ name: "root/.ssh/authorized_keys", mode: 0o100600, data: i.authorizedKeys });
  // xcimg's own built-ins (syslog, setupntp, …) come with the files above, not from the site's directory
  const names = [...new Set([...s.scripts.run, ...s.scripts.boot].map((p) => p.name))].filter((n) => !s.scripts.xcimg.includes(n));
  const head = [
    "#!/bin/sh",
    `# written by xcimg boot for ${i.node}: its files, then xcimg's install end (post-install.sh)`,
    `XCIMG_NODE=${shq(i.node)}`,
    `XCIMG_POSTSCRIPTS_URL=${shq(postscriptsUrl(config, i.master))}`,
    `XCIMG_FETCH=${shq(names.join(" "))}`,
    `XCIMG_MARK_URL=${shq(i.markerUrl ?? "")}`,
    "xcimg_files() {",
    ...files.map(fileLines),
    // the unit is enabled by its link, as systemctl enable makes it (no systemctl in a chroot needed)
    '\tmkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants" &&',
    '\t\tln -sf /etc/systemd/system/xcimg-install-firstboot.service "$ROOT/etc/systemd/system/multi-user.target.wants/xcimg-install-firstboot.service"',
    "}",
    "",
  ].join("\n");
  return { text: head + body, warning: s.warning };
}

/** One file of the node as a here-document whose end line cannot occur in the data. */
function fileLines(f: MemoryEntry): string {
  const data = typeof f.data === "string" ? f.data : Buffer.from(f.data ?? "").toString("utf8");
  // derived from the data, so an unchanged node gets a byte-identical file (boot rewrites nothing)
  let end = "";
  for (let n = 0; !end || data.includes(end); n++) end = `XCIMG_EOF_${createHash("sha256").update(`${n}\0${data}`).digest("hex").slice(0, 16)}`;
  const path = `/${f.name}`;
  const mode = (f.mode & 0o7777).toString(8);
  if ((f.mode & 0o170000) === 0o120000)
    return `\tmkdir -p "$ROOT${path.slice(0, path.lastIndexOf("/"))}" && ln -sf ${shq(data)} "$ROOT"${shq(path)} || return 1`;
  const body = data.endsWith("\n") || data === "" ? data : `${data}\n`;
  return `\tput ${mode} ${shq(path)} <<'${end}' || return 1\n${body}${end}`;
}
