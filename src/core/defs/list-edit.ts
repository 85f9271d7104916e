import type { Attrs } from "./object";

/**
 * chdef's -p and -m (perl-xCAT/xCAT/DBobjUtils.pm setobjdefs, plus_option/minus_option): a
 * value is a comma-separated list; -p adds the given entries after the stored ones, -m takes
 * them out. The stored value is the object's own row, never an inherited group value, as xCAT
 * reads it. Unlike xCAT, -p does not add an entry that is already there (xCAT would write
 * `all,aix,aix`); docs/migrating-from-xcat.md says so.
 */
export type ListMode = "replace" | "append" | "remove";

const split = (v: string | undefined) =>
  (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export function editList(current: string | undefined, given: string, mode: ListMode): string {
  if (mode === "replace") return given;
  const have = split(current);
  const change = split(given);
  if (mode === "append") return [...have, ...change.filter((c, i) => !have.includes(c) && change.indexOf(c) === i)].join(",");
  return have.filter((h) => !change.includes(h)).join(",");
}

/** The attributes to write for one object, given what it stores now. */
export function editAttrs(current: Attrs, given: Attrs, mode: ListMode): Attrs {
  if (mode === "replace") return given;
  const out: Attrs = {};
  for (const [attr, v] of Object.entries(given)) out[attr] = editList(current[attr], v, mode);
  return out;
}
