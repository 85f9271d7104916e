import type { Db } from "../db/open";
import { orderedFrom } from "../db/row-order";
import { upsert } from "../db/rows";
import { DataError } from "../errors";

/**
 * litefile.csv, the statelite file list a bundle carries (xcat.md §1.3). Export takes the
 * rows for image '' (unset), then those for osimage.groups (or 'ALL' when the image has no
 * groups), then the image's own, in table order, each relabelled with the image name and
 * with unset options written as tmpfs:  "<image>","<file>","<options>",,
 */
const ENABLED = `("disable" IS NULL OR "disable" IN ('0','no','NO','No','nO'))`;

export function litefileCsv(db: Db, image: string, groups: string | undefined): string {
  const { from, order } = orderedFrom(db, "litefile");
  const rows = (where: string, ...args: string[]) =>
    db.all<{ file: string | null; options: string | null }>(
      `SELECT t.file, t.options FROM ${from} WHERE ${where} AND ${ENABLED.replace(/"disable"/g, 't."disable"')} ORDER BY ${order}`,
      ...args,
    );
  const all = [...rows(`(t.image IS NULL OR t.image = '')`), ...rows("t.image = ?", groups || "ALL"), ...rows("t.image = ?", image)];
  return all
    .filter((r) => r.file)
    .map((r) => `"${image}","${r.file}","${r.options || "tmpfs"}",,\n`)
    .join("");
}

export interface LiteRow {
  file: string;
  options: string;
}

/** imgimport's reader: split each line on `"`; field 3 is the file, field 5 the options. */
export function parseLitefileCsv(text: string, file: string): LiteRow[] {
  const out: LiteRow[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const f = line.split('"');
    const name = f[3];
    if (name === undefined || f.length < 6) throw new DataError(`${file}:${i + 1}: expected "<image>","<file>","<options>",, but got '${line.slice(0, 80)}'`);
    if (!name.startsWith("/") || name.includes("\0")) throw new DataError(`${file}:${i + 1}: '${name}' is not an absolute path`);
    out.push({ file: name, options: f[5] ?? "" });
  });
  return out;
}

/** imgimport: add the rows for the imported image, except those an identical 'ALL' row already covers. */
export function importLitefile(db: Db, image: string, rows: readonly LiteRow[]): number {
  const all = db.all<{ file: string; options: string | null }>(`SELECT file, options FROM litefile WHERE image = 'ALL' AND ${ENABLED}`);
  let n = 0;
  for (const r of rows) {
    if (all.some((a) => a.file === r.file && (a.options ?? "") === r.options)) continue;
    upsert(db, "litefile", { image, file: r.file }, { options: r.options });
    n++;
  }
  return n;
}
