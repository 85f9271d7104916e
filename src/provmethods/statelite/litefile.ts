import type { Db } from "../../core/db/open";
import { orderedFrom } from "../../core/db/row-order";
import type { Row } from "../../core/db/rows";
import { isDisabled } from "../../core/defs/inherit";
import { DEFAULT_OPTION, pad13 } from "../../core/tables/litefile-options";

/** One statelite entry: a path in the image and how nodes treat it. */
export interface LiteEntry {
  file: string;
  options: string;
}

/** Perl's `sort keys`: byte order of the UTF-8 strings, not UTF-16 code units. */
export function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function sortEntries<T extends { file: string }>(entries: Iterable<T>): T[] {
  return [...entries].sort((a, b) => byteCompare(a.file, b.file));
}

function enabledRows(db: Db, sql: string, ...args: string[]): Row[] {
  const raw = db.all<Record<string, string | null>>(sql, ...args);
  const rows: Row[] = [];
  for (const r of raw) {
    const row: Row = {};
    for (const [k, v] of Object.entries(r)) if (v !== null && v !== "") row[k] = v;
    if (!isDisabled(row)) rows.push(row);
  }
  return rows;
}

/**
 * The osimage.groups value of an image, used verbatim as a litefile/litetree image key
 * (litetree.pm getNodeData: one exact string, not split on commas).
 */
export function imageGroupsKey(db: Db, image: string): string | null {
  const rows = enabledRows(db, `SELECT groups, disable FROM osimage WHERE imagename = ?`, image);
  return rows[0]?.groups ?? null;
}

/**
 * Rows of `table` that apply to `image`, in xCAT's merge order: image = osimage.groups value,
 * image empty, image = ALL, image = the image's name; each group in database (rowid) order,
 * disabled rows skipped. Callers let later rows win.
 */
export function imageScopedRows(db: Db, table: "litefile" | "litetree", image: string): Row[] {
  const rows: Row[] = [];
  const groups = imageGroupsKey(db, image);
  const { from, order } = orderedFrom(db, table);
  const q = `SELECT t.* FROM ${from} WHERE t.image = ? ORDER BY ${order}`;
  if (groups) rows.push(...enabledRows(db, q, groups));
  rows.push(...enabledRows(db, `SELECT t.* FROM ${from} WHERE t.image IS NULL OR t.image = '' ORDER BY ${order}`));
  rows.push(...enabledRows(db, q, "ALL"));
  rows.push(...enabledRows(db, q, image));
  return rows;
}

/**
 * xCAT `ilitefile <image>` (litetree.pm mergeArrays): later rows override earlier ones per
 * file; empty options mean "tmpfs,rw"; /etc/mtab is always there, forced to "tmpfs,rw" when
 * listed and added as "link" when not. Sorted by file.
 */
export function imageLiteEntries(db: Db, image: string): LiteEntry[] {
  const byFile = new Map<string, string>();
  let mtab = false;
  for (const row of imageScopedRows(db, "litefile", image)) {
    const file = row.file;
    if (!file) continue;
    let options = row.options || DEFAULT_OPTION;
    if (file === "/etc/mtab") {
      mtab = true;
      options = DEFAULT_OPTION;
    }
    byFile.set(file, options);
  }
  if (!mtab) byFile.set("/etc/mtab", "link");
  return sortEntries([...byFile].map(([file, options]) => ({ file, options })));
}

/** One line of `ilitefile` output, the format liteimg keeps in .statelite/litefile.save. */
export function ilitefileLine(image: string, e: LiteEntry): string {
  return `${image}: ${pad13(e.options)} ${e.file}`;
}

/** One line of `lslite -i <image>`. */
export function lsliteLine(e: LiteEntry): string {
  return `        ${pad13(e.options)} ${e.file}`;
}

/**
 * Parse lines written by ilitefileLine (xCAT's own litefile.save included): fields split on
 * white space as statelite.pm does; the image name is dropped.
 */
export function parseSavedList(text: string): LiteEntry[] {
  const out: LiteEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || !f[1] || !f[2]) continue;
    out.push({ options: f[1], file: f[2] });
  }
  return out;
}
