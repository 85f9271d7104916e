import { DataError } from "../errors";

/**
 * xCAT's synclist format (docs/source/guides/admin-guides/manage_clusters/common/deployment/
 * syncfile/syncfile_synclist_file.rst):
 *
 *   /etc/file2 -> /etc/file3                 a file, renamed
 *   /etc/file1 /etc/file2 -> /tmp/etc        several files into a directory
 *   /etc/file2 -> /etc/                      a trailing slash: into that directory
 *   /home/mikev/* -> /home/mikev/            a glob, or a directory copied whole
 *   /etc/hosts -> (cn[1-4],rack2) /etc/hosts only for those nodes (a noderange)
 *   APPEND:      then `src -> dest` lines: src is appended to the existing dest
 *   MERGE:       then `src -> /etc/passwd|/etc/shadow|/etc/group`: entries added or replaced by name
 *   EXECUTE:     then MN paths of postsync scripts, run when the file they belong to (`<file>.post`) changed
 *   EXECUTEALWAYS: then MN paths of scripts run after every sync
 * A clause runs to the next clause or the end of the file. Lines starting with # are comments.
 * Every path is absolute; a destination with `..` in it is refused (it could leave the tree).
 */
export type SyncKind = "copy" | "append" | "merge";

export interface SyncEntry {
  kind: SyncKind;
  /** Absolute management-node paths (globs still unexpanded). */
  sources: string[];
  /** Absolute path on the node (or in the image). */
  dest: string;
  /** dest names a directory the sources go into (trailing slash, or several sources). */
  intoDir: boolean;
  /** The noderange between parentheses, if the entry is for some nodes only. */
  nodes?: string;
  line: number;
}

export interface Synclist {
  file: string;
  entries: SyncEntry[];
  /** EXECUTE: MN paths of `<file>.post` scripts, run on a node when <file> changed there. */
  execute: { script: string; nodes?: string; line: number }[];
  /** EXECUTEALWAYS: MN paths of scripts run after every sync. */
  executeAlways: { script: string; nodes?: string; line: number }[];
}

export const MERGEABLE = ["/etc/passwd", "/etc/shadow", "/etc/group"];
const CLAUSES: Record<string, "append" | "merge" | "execute" | "executeAlways"> = {
  "APPEND:": "append",
  "MERGE:": "merge",
  "EXECUTE:": "execute",
  "EXECUTEALWAYS:": "executeAlways",
};

function checkPath(p: string, what: string, where: string): void {
  if (!p.startsWith("/"))
    throw new DataError(`${where}: ${what} '${p}' is not an absolute path`, {
      hint: "synclist paths are full paths (source on the management node, destination on the node)",
    });
  if (p.split("/").includes(".."))
    throw new DataError(`${where}: ${what} '${p}' contains '..'`, {
      hint: "name the destination without '..': it must stay inside the node's (or image's) tree",
    });
  if (p.includes("\0")) throw new DataError(`${where}: ${what} contains a NUL byte`);
}

export function parseSynclist(text: string, file = "synclist"): Synclist {
  const out: Synclist = { file, entries: [], execute: [], executeAlways: [] };
  let clause: "copy" | "append" | "merge" | "execute" | "executeAlways" = "copy";
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const line = (lines[i] ?? "").trim();
    if (!line || line.startsWith("#")) continue;
    const head = CLAUSES[line.toUpperCase()];
    if (head) {
      clause = head;
      continue;
    }
    if (clause === "execute" || clause === "executeAlways") {
      const m = /^(?:\(([^)]*)\)\s*)?(\S+)$/.exec(line);
      if (!m) throw new DataError(`${where}: an ${clause === "execute" ? "EXECUTE" : "EXECUTEALWAYS"} line names one script, not '${line}'`);
      checkPath(m[2] as string, "script", where);
      out[clause].push({ script: m[2] as string, nodes: m[1]?.trim() || undefined, line: i + 1 });
      continue;
    }
    const arrow = line.indexOf("->");
    if (arrow < 0)
      throw new DataError(`${where}: '${line}' is not 'source -> destination'`, {
        hint: "each synclist line is 'src [src...] -> dest' (or a clause such as APPEND:)",
      });
    const sources = line.slice(0, arrow).trim().split(/\s+/).filter(Boolean);
    let rhs = line.slice(arrow + 2).trim();
    let nodes: string | undefined;
    const q = /^\(([^)]*)\)\s*(.*)$/.exec(rhs);
    if (q) {
      nodes = (q[1] as string).trim();
      rhs = (q[2] as string).trim();
      if (!nodes) throw new DataError(`${where}: empty noderange '()'`);
    }
    if (!sources.length || !rhs || /\s/.test(rhs)) throw new DataError(`${where}: '${line}' needs one or more sources and exactly one destination`);
    for (const s of sources) checkPath(s, "source", where);
    checkPath(rhs, "destination", where);
    const kind: SyncKind = clause === "append" ? "append" : clause === "merge" ? "merge" : "copy";
    if (kind !== "copy" && sources.length !== 1) throw new DataError(`${where}: ${kind.toUpperCase()} takes one source per line`);
    if (kind === "merge" && !MERGEABLE.includes(rhs)) {
      throw new DataError(`${where}: MERGE works on ${MERGEABLE.join(", ")} only, not ${rhs}`, { hint: "use APPEND: for other files" });
    }
    const intoDir = kind === "copy" && (rhs.endsWith("/") || sources.length > 1 || sources.some((s) => /[*?[]/.test(s)));
    const dest = rhs.length > 1 ? rhs.replace(/\/+$/, "") : rhs;
    out.entries.push({ kind, sources, dest, intoDir, nodes, line: i + 1 });
  }
  return out;
}
