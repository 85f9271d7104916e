import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../context";
import { readNodes } from "../defs/node";
import { DataError } from "../errors";
import { safeNodeFileName } from "../names";
import { DONE_MARKER_LINE } from "./loaders";
import { bootPaths } from "./paths";

/**
 * `xcimg boot --stat`: xCAT's `nodeset <noderange> stat`. As xCAT's plugins do (getstate in
 * xCAT-server/lib/xcat/plugins/xnba.pm and grub2.pm), what a node boots next is read from the
 * headline of its boot loader file — `#<chain.currstate>`, the second line of an iPXE
 * script, the first of a GRUB2 or pxelinux file — and a node without a file is `offline`:
 * its firmware moves on to its next boot device. The file is the truth (it is what the node
 * fetches); chain.currstate and nodetype.provmethod name the image, and a row that no
 * longer matches its file is reported rather than trusted. An iPXE script that names a done
 * marker (`#local-once-exists <file>`, loaders.ts: an install node's "installed" mark) boots the
 * local disk while that file exists, so it is reported as `boot`, the way xCAT's `nodeset stat`
 * says `boot` once xcatd has switched an installed node. GRUB2 files test the marker the same
 * way. pxelinux cannot test for a file: its file only names the marker, so such a node still
 * boots what its file says, and is reported so, with the command that switches it
 * (`xcimg boot <node> boot --if-marked`, which a systemd .path unit on the marker directory
 * can run the moment a node PUTs its marker: docs/boot.md).
 */
export interface NodeStat {
  node: string;
  /** The file's headline (netboot bb1-x86_64-compute, boot, …), or offline. */
  state: string;
  /** What the node does at its next network boot. */
  next: "image" | "local" | "none";
  /** The state's first word: netboot, statelite, install, sysclone; null for local boot and offline. */
  method: string | null;
  /** nodetype.provmethod when chain.currstate agrees with the file, else null. */
  image: string | null;
  /** The loader whose file was found (noderes.netboot's first, then the others), or the node's own when none was. */
  loader: string;
  file: string | null;
  /** The done marker the file names and that exists: it turned the file's image boot into a local boot (an installed node), unless `untested`. */
  doneMarker?: string;
  /** The file's loader cannot test its marker (pxelinux): the node boots the image until `boot --if-marked` rewrites the file. */
  untested?: boolean;
  /** chain.currstate when it differs from the file's headline (a hand edit, an interrupted boot). */
  rowState?: string;
}

export interface StatResult {
  nodes: NodeStat[];
  /** node → reason. */
  failed: Record<string, string>;
}

/** Loader → the node's file and the line its `#state` headline is on (loader-files.ts, loaders.ts). */
function loaderFiles(tftpdir: string, node: string): { loader: string; file: string; line: number }[] {
  const p = bootPaths(tftpdir);
  return [
    { loader: "xnba", file: join(p.xnbaDir, node), line: 1 },
    { loader: "grub2", file: join(p.grub2Dir, node), line: 0 },
    { loader: "pxe", file: join(p.pxelinuxDir, node), line: 0 },
  ];
}

const family = (loader: string) => (loader.startsWith("grub2") ? "grub2" : loader);

/** The loader whose files cannot test a done marker themselves (loaders.ts pxelinuxConfig). */
const UNTESTED = "pxe";

export function bootStat(ctx: Context, nodes: readonly string[]): StatResult {
  const attrs = readNodes(ctx.db(), nodes);
  const out: StatResult = { nodes: [], failed: {} };
  for (const node of nodes) {
    const a = attrs.get(node);
    if (!a) {
      out.failed[node] = "is not a defined node (xcimg node set adds it)";
      continue;
    }
    try {
      safeNodeFileName(node);
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      out.failed[node] = e.message;
      continue;
    }
    const own = a.netboot || "xnba";
    const candidates = loaderFiles(ctx.config.tftpdir, node).sort((x, y) => Number(y.loader === family(own)) - Number(x.loader === family(own)));
    let found: { loader: string; file: string; headline: string; marker: string | null } | null = null;
    for (const c of candidates) {
      const head = headOf(c.file);
      const l = head?.split("\n")[c.line] ?? "";
      if (!l.startsWith("#")) continue;
      const marker = head?.split("\n").find((x) => x.startsWith(DONE_MARKER_LINE));
      found = {
        loader: c.loader === family(own) ? own : c.loader,
        file: c.file,
        headline: l.slice(1).trim(),
        marker: marker ? marker.slice(DONE_MARKER_LINE.length).trim() : null,
      };
      break;
    }
    if (!found) {
      out.nodes.push({ node, state: "offline", next: "none", method: null, image: null, loader: own, file: null });
      continue;
    }
    const exists = found.marker !== null && existsSync(found.marker);
    const untested = exists && family(found.loader) === UNTESTED;
    const done = exists && !untested;
    const state = done ? "boot" : found.headline;
    const local = state === "boot";
    // the file still says what it installs; chain.currstate stays the install's until the next nodeset
    const row = done && a.currstate === found.headline ? "boot" : (a.currstate ?? "");
    const s: NodeStat = {
      node,
      state,
      next: local ? "local" : "image",
      method: local ? null : (state.split(" ")[0] ?? null),
      image: !local && row === state ? (a.provmethod ?? null) : null,
      loader: found.loader,
      file: found.file,
    };
    if (exists) s.doneMarker = found.marker as string;
    if (untested) s.untested = true;
    if (row !== state) s.rowState = row || "(empty)";
    out.nodes.push(s);
  }
  return out;
}

/** The file's first 4 KiB; null when it is not there. */
function headOf(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString("utf8");
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** One line per node, xCAT's `<node>: <state>` first. */
export function statLine(s: NodeStat): string {
  const detail =
    s.next === "none"
      ? "no boot file: the firmware's next boot device"
      : s.next === "local"
        ? `local disk, ${s.loader}${s.doneMarker ? `, installed: ${s.doneMarker} exists` : ""}`
        : `${s.image ? `image ${s.image}` : "image unknown"}, ${s.loader}`;
  const stale = s.rowState !== undefined ? `; chain.currstate says ${s.rowState}` : "";
  if (s.untested)
    return `${s.node}: ${s.state} (${detail}; ${s.doneMarker} exists, which ${s.loader} cannot test: 'xcimg boot ${s.node} boot --if-marked' switches it${stale})`;
  return `${s.node}: ${s.state} (${detail}${stale})`;
}
