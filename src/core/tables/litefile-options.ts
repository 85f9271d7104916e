/**
 * litefile options as liteimg (statelite.pm) knows them. The list, its order and the message
 * text are xCAT's: admins grep for them and xCAT's docs quote them.
 */
export const VALID_OPTIONS = ["tmpfs", "persistent", "localdisk", "rw", "ro", "con", "link", "tmpfs,rw", "link,ro", "link,persistent", "link,con"] as const;
export type LiteOption = (typeof VALID_OPTIONS)[number];

/** What ilitefile/lslite show for a row whose options column is empty (Linux; AIX used "rw"). */
export const DEFAULT_OPTION = "tmpfs,rw";

export function isValidOption(o: string): o is LiteOption {
  return (VALID_OPTIONS as readonly string[]).includes(o);
}

/**
 * liteimg's `s/tmpfs,rw/link/` (first occurrence): since xCAT 2.5 the old default means
 * "link". xCAT applies it to the whole "image: options file" line; xcimg only to the options
 * field, which differs only for an image or file name containing "tmpfs,rw".
 */
export function rewriteOption(o: string): string {
  return o.replace("tmpfs,rw", "link");
}

/** Options whose entry becomes a symlink chain into .statelite/tmpfs (statelite.pm `=~ m/link/`). */
export const isLinkOption = (o: string): boolean => o.includes("link");

/** Perl's sprintf("%-13s", s): pad on the right to 13 characters, never truncate. */
export function pad13(s: string): string {
  return s.length >= 13 ? s : s + " ".repeat(13 - s.length);
}
