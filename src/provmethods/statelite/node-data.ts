import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../core/config/schema";
import type { Db } from "../../core/db/open";
import { rowsWhereIn } from "../../core/db/rows";
import { isTableName, TABLES } from "../../core/db/tables";
import { isDisabled } from "../../core/defs/inherit";
import { DataError, NotFoundError } from "../../core/errors";
import { buildHierarchy } from "./hierarchy";
import { byteCompare, imageScopedRows, type LiteEntry, parseSavedList } from "./litefile";

/**
 * What a statelite node needs at boot, resolved on the management node when its boot files
 * are written — xCAT's node asks xcatd for it (litefile/litetree over openssl s_client, the
 * statelite table through the kernel command line); an xcimg node reads one file.
 */
export interface NodeStateliteData {
  node: string;
  image: string;
  /** `server:/path` or `/path`; the node mounts `<statemnt>/<node>` on /.statelite/persistent. */
  statemnt: string;
  mntopts: string;
  trees: { priority: string; dir: string; mntopts: string }[];
  /** lite's list (the image's .statelite/litefile.save); `top` = option of the top-level ancestor. */
  entries: { options: string; file: string; top: string | null }[];
}

/** The list the image was built with: what the node must follow, whatever the table says now. */
export function readAppliedList(rootimg: string, image: string): LiteEntry[] {
  const file = join(rootimg, ".statelite", "litefile.save");
  try {
    return parseSavedList(readFileSync(file, "utf8"));
  } catch {
    throw new NotFoundError(`${file} does not exist: the image was never prepared for statelite`, { hint: `run 'xcimg lite ${image}' first` });
  }
}

/**
 * A node's value for table.column as xCAT's getNodeAttribs gives it: the node's own row, else
 * the first of its groups (nodelist.groups order) that sets it; disabled rows ignored.
 */
export function nodeColumn(db: Db, table: string, column: string, node: string): string | null {
  if (!isTableName(table) || !(TABLES[table].keys as readonly string[]).includes("node") || !(TABLES[table].cols as readonly string[]).includes(column))
    return null;
  const groups = (rowsWhereIn(db, "nodelist", "node", [node])[0]?.groups ?? "")
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean);
  const order = table === "nodelist" ? [node] : [node, ...groups];
  const rows = rowsWhereIn(db, table, "node", order).filter((r) => !isDisabled(r));
  for (const key of order) {
    const v = rows.find((r) => r.node === key)?.[column];
    if (v) return v;
  }
  return null;
}

function siteValue(db: Db, config: Config, key: string): string | null {
  const row = rowsWhereIn(db, "site", "key", [key]).find((r) => !isDisabled(r));
  if (row?.value) return row.value;
  const fromConfig: Record<string, string | undefined> = { installdir: config.installdir, tftpdir: config.tftpdir, master: config.master };
  return fromConfig[key] ?? null;
}

/**
 * SvrUtils subVars for litetree directories and statelite.statemnt: in each "/"-separated part,
 * `$node` is the node name and `$table.column` its attribute (several `$a$b` are joined with
 * "."). xCAT writes "UNDEFINED" for a missing value and runs `#CMD=...#` through a shell on the
 * management node; xcimg refuses both, so a node never mounts a path nobody meant.
 */
export function substituteVars(db: Db, config: Config, node: string, value: string, what: string): string {
  if (value.includes("#CMD="))
    throw new DataError(`${what} '${value}' uses #CMD=...#, which xcimg does not run`, { hint: "write the resulting path into the table instead" });
  if (!value.includes("$")) return value;
  return value
    .split("/")
    .map((part) => {
      const m = /^([^$]*)([^# ]*)(.*)$/.exec(part);
      if (!m?.[2]) return part;
      const vals = (m[2] as string)
        .split("$")
        .filter((p) => p !== "")
        .map((p) => {
          if (p === "node") return node;
          const [table = "", column = ""] = p.split(".");
          const v = table === "site" ? siteValue(db, config, column) : nodeColumn(db, table, column, node);
          if (!v)
            throw new DataError(`${what} '${value}': $${p} has no value for node ${node}`, {
              hint: `set it, e.g. 'xcimg table set ${table} node=${node} ${column}=...'`,
            });
          return v;
        });
      return `${m[1]}${vals.join(".")}${m[3]}`;
    })
    .join("/")
    .replace(/\/\/+/g, "/");
}

/** Split `[server:]path` (a directory never contains ":" on xCAT either: it splits on it). */
function splitServer(v: string): { server: string; path: string } {
  const i = v.indexOf(":");
  return i < 0 ? { server: "", path: v } : { server: v.slice(0, i), path: v.slice(i + 1) };
}

/** xCAT splits `server:path` first and substitutes each half on its own. */
function substituteLocation(db: Db, config: Config, node: string, value: string, what: string): string {
  const { server, path } = splitServer(value);
  const p = substituteVars(db, config, node, path, what);
  return server ? `${substituteVars(db, config, node, server, what)}:${p}` : p;
}

function checkLocation(v: string, what: string): string {
  if (/\s/.test(v)) throw new DataError(`${what} '${v}' contains white space`);
  const { server, path } = splitServer(v);
  if (!path.startsWith("/")) throw new DataError(`${what} '${v}' is not [server:]/absolute/path`);
  return server ? `${server}:${path}` : path;
}

export function stateliteNodeData(
  db: Db,
  config: Config,
  node: string,
  image: string,
  rootimg: string,
  applied: LiteEntry[] = readAppliedList(rootimg, image),
): NodeStateliteData {
  const h = buildHierarchy(applied);
  const topOf = (file: string): string | null => {
    let p = h.parentOf.get(file) ?? null;
    if (!p) return null;
    for (let up = h.parentOf.get(p.file) ?? null; up; up = h.parentOf.get(up.file) ?? null) p = up;
    return p.options;
  };

  const { statemnt, mntopts, trees } = nodeLocations(db, config, node, image);
  return {
    node,
    image,
    statemnt,
    mntopts,
    trees,
    entries: [...h.entries].sort((a, b) => byteCompare(a.file, b.file)).map((e) => ({ options: e.options, file: e.file, top: topOf(e.file) })),
  };
}

/**
 * A node's litetree directories (priority order) and statelite.statemnt/mntopts with SvrUtils
 * subVars applied, as the node mounts them; what `lite --list <noderange>` shows (xCAT lslite).
 */
export function nodeLocations(db: Db, config: Config, node: string, image: string): Pick<NodeStateliteData, "statemnt" | "mntopts" | "trees"> {
  const byPriority = new Map<string, { dir: string; mntopts: string }>();
  for (const row of imageScopedRows(db, "litetree", image)) {
    if (!row.directory || !row.priority) continue;
    byPriority.set(row.priority, { dir: row.directory, mntopts: row.mntopts ?? "" });
  }
  const trees = [...byPriority]
    .sort(([a], [b]) => (Number(a) || 0) - (Number(b) || 0))
    .map(([priority, t]) => {
      const what = `litetree priority ${priority} directory`;
      if (/\s/.test(t.mntopts)) throw new DataError(`litetree priority ${priority} mntopts '${t.mntopts}' contains white space`);
      return { priority, dir: checkLocation(substituteLocation(db, config, node, t.dir, what), what), mntopts: t.mntopts };
    });

  const rawMnt = nodeColumn(db, "statelite", "statemnt", node) ?? "";
  const statemnt = rawMnt ? checkLocation(substituteLocation(db, config, node, rawMnt, "statelite.statemnt"), "statelite.statemnt") : "";
  const mntopts = nodeColumn(db, "statelite", "mntopts", node) ?? "";
  if (/\s/.test(mntopts)) throw new DataError(`statelite.mntopts '${mntopts}' for ${node} contains white space`);

  return { statemnt, mntopts, trees };
}

/** The file the boot script reads (format documented at the top of rc.statelite.sh). */
export function renderNodeData(d: NodeStateliteData): string {
  const lines = [`# xcimg statelite configuration for node ${d.node}, image ${d.image}`, `node ${d.node}`, `statemnt ${d.statemnt}`, `mntopts ${d.mntopts}`];
  for (const t of d.trees) lines.push(`tree ${t.priority} ${t.dir}${t.mntopts ? ` ${t.mntopts}` : ""}`);
  for (const e of d.entries) lines.push(e.top === null ? `entry ${e.options} ${e.file}` : `child ${e.options} ${e.file} ${e.top}`);
  return `${lines.join("\n")}\n`;
}
