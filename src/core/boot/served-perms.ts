import { closeSync, fchmodSync, fchownSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { ConfigError, fsError } from "../errors";
import { tempNameFor } from "../fs/atomic";

/**
 * Who on the management node may read the per-node files nodes fetch that hold secrets: the
 * identity overlay (the node's private SSH host key) and the install answer file (root's
 * password hash). Nodes fetch them from the web server (or TFTP), so that server's account
 * must read them; nobody else on the management node needs to.
 *
 * site.webgroup names the group the web server runs as (and TFTP, for pxelinux/grub2-tftp
 * nodes): the files become 0640 root:<group>. Unset, xcimg uses the first of the usual
 * web-server groups that exists (www-data on Debian/Ubuntu, apache for httpd on RHEL, nginx);
 * `webgroup=world`, or no such group at all, keeps xCAT's 0644 (with a warning for the latter).
 */
export const WEBGROUP_KEY = "webgroup";
const USUAL_WEB_GROUPS = ["www-data", "apache", "nginx"];

export interface ServedPerms {
  mode: number;
  /** undefined: leave the group as created (root's). */
  gid?: number;
  /** Why the files stay world-readable, when they do for lack of a group. */
  warning?: string;
  describe: string;
}

function groups(file = "/etc/group"): Map<string, number> {
  const out = new Map<string, number>();
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return out;
  }
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name && gid && /^\d+$/.test(gid)) out.set(name, Number(gid));
  }
  return out;
}

export function servedPerms(webgroup: string | undefined): ServedPerms {
  const v = (webgroup ?? "").trim();
  if (v === "world") return { mode: 0o644, describe: "0644 (site.webgroup=world)" };
  const known = groups();
  if (v) {
    const gid = /^\d+$/.test(v) ? Number(v) : known.get(v);
    if (gid === undefined) {
      throw new ConfigError(`site.webgroup '${v}' is not a group on this management node`, {
        hint: `name the group your web server runs as ('xcimg table set site key=${WEBGROUP_KEY} value=www-data'), or 'world' for mode 0644`,
      });
    }
    return { mode: 0o640, gid, describe: `0640 root:${v}` };
  }
  for (const name of USUAL_WEB_GROUPS) {
    const gid = known.get(name);
    if (gid !== undefined) return { mode: 0o640, gid, describe: `0640 root:${name}` };
  }
  return {
    mode: 0o644,
    describe: "0644",
    warning: `no web server group (${USUAL_WEB_GROUPS.join(", ")}) on this management node: per-node overlays and answer files stay world-readable; set site.${WEBGROUP_KEY}`,
  };
}

/**
 * Write a served file atomically with its final mode and group already on the temporary file,
 * so it is never readable by more than `p` allows, not even for a moment; an identical file
 * with the right permissions is left alone (10,000 nodes re-booted: no writes). Not fsynced:
 * these files are regenerated from the database and the host-key store on every boot.
 */
export function writeServedFile(path: string, data: string | Uint8Array, p: ServedPerms): boolean {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  try {
    const st = statSync(path);
    const groupOk = p.gid === undefined || st.gid === p.gid;
    if (groupOk && st.size === buf.length && (st.mode & 0o7777) === p.mode && readFileSync(path).equals(buf)) return false;
  } catch {
    // absent: write it
  }
  replaceServedFile(path, buf, p);
  return true;
}

/** Replace `path` by a temporary file that already has the final mode and group, then rename. */
export function replaceServedFile(path: string, buf: Uint8Array, p: { mode: number; gid?: number }): void {
  const temp = tempNameFor(path);
  try {
    const fd = openSync(temp, "wx", 0o600);
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      if (p.gid !== undefined) fchownSync(fd, process.getuid?.() ?? 0, p.gid);
      fchmodSync(fd, p.mode);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw fsError(e, `cannot write ${path}`);
  }
}
