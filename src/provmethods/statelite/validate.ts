import { DataError } from "../../core/errors";
import { isValidOption, VALID_OPTIONS } from "../../core/tables/litefile-options";
import type { Hierarchy } from "./hierarchy";
import type { LiteEntry } from "./litefile";

/** Directories liteimg and the boot script own; an entry there would eat the machinery. */
const RESERVED = ["/.statelite", "/.default", "/.statebackup", "/.sllocal"];

function fail(message: string, file: string, image: string): never {
  throw new DataError(message, {
    hint: `fix the litefile row for ${file} (xcimg table set litefile image=<image|ALL>,file=${file} options=...), then run 'xcimg lite ${image}' again`,
  });
}

/**
 * liteimg's per-entry checks, in its order and with its words (leading/trailing spaces
 * included: xCAT prints "Error:  <file> has invalid option. ..."). Entries are checked in file
 * order; the first failure stops the command before anything in the image changes.
 *
 * xcimg adds checks xCAT lacks, because liteimg runs `rm -rf`/`cp` on these paths as root on
 * the management node: no "/" itself, no ".", ".." or empty components, no white space
 * (xCAT splits lines on it and silently mangles such paths), nothing under its own
 * .statelite/.default/.statebackup/.sllocal directories.
 */
export function validateEntries(entries: readonly LiteEntry[], image: string): void {
  for (const { file, options } of entries) {
    if (!isValidOption(options)) fail(` ${file} has invalid option. The valid options: ${VALID_OPTIONS.join(" ")}`, file, image);
    if (!file.startsWith("/")) fail(` ${file} is not one absolute path. `, file, image);
    checkPathSafety(file, image);
    if (options.includes("con") && file.endsWith("/")) fail(` ${file} is directory, don't use "con" as its option `, file, image);
  }
}

function checkPathSafety(file: string, image: string): void {
  if (/\s/.test(file) || file.includes("\0"))
    fail(`${JSON.stringify(file)} contains white space; statelite paths cannot (xCAT splits its lists on it)`, file, image);
  const parts = file.replace(/\/$/, "").split("/").slice(1);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === "")) fail(`"/" itself cannot be a statelite entry`, file, image);
  if (parts.some((p) => p === "" || p === "." || p === "..")) fail(`${file} must not contain empty, "." or ".." path components`, file, image);
  const bare = `/${parts.join("/")}`;
  for (const r of RESERVED) {
    if (bare === r || bare.startsWith(`${r}/`)) fail(`${file} is inside ${r}, which statelite itself manages`, file, image);
  }
}

/**
 * liteimg's parent/child rules, checked for every entry that has children, in file order:
 * - a parent directory must not be ro/con (nor link,ro/link,con);
 * - under a link parent, children must be link-based but not link,ro;
 * - under a persistent parent, children must be persistent.
 * xCAT also meant to forbid link children under non-link parents, but its test compares the
 * child's path with "/etc/mtab" numerically (`!=`), which is never true: the check is dead, so
 * such tables are accepted. xcimg accepts them too (the auto-added /etc/mtab "link" entry is a
 * child of any "/etc/" entry and relies on that).
 */
export function validateHierarchy(h: Hierarchy, image: string): void {
  for (const parent of h.entries) {
    const kids = h.children.get(parent.file);
    if (!kids) continue;
    const f = parent.file;
    const po = parent.options;
    if (po.endsWith("ro") || po.endsWith("con")) fail(`the directory "${f}" should not be with "ro" or "con" as its option`, f, image);
    for (const child of kids) {
      const fc = child.file;
      if (po.includes("link")) {
        if (child.options === "link,ro") fail(`Based on the option of ${f}, ${fc} should not use "link,ro" as its option`, fc, image);
        if (!child.options.includes("link")) fail(`Based on the option of ${f}, ${fc} can only use "link"-based options`, fc, image);
      }
      if (po.includes("persistent") && !child.options.includes("persistent")) fail(`${fc} should have persistent option like ${f} `, fc, image);
    }
  }
}
