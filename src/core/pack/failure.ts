import { fsError, IOFailure, XcimgError } from "../errors";

/**
 * What pack (and lite's ramdisk, clone's archives) report when writing an archive fails
 * underway: a full disk, a quota, an I/O error or a compressor that died is an I/O failure
 * (exit 74) with what to do, never "a bug" (exit 70). The previous archive is untouched in
 * every case (archive-tree.ts writes under a temporary name and renames only when complete).
 */
export function archiveFailure(e: unknown, what: string, dir: string): unknown {
  if (e instanceof XcimgError && !(e instanceof IOFailure)) return e;
  if (e instanceof IOFailure) return e.hint ? e : new IOFailure(e.message, { hint: hintFor(e.message, dir), cause: e.cause ?? e });
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== "string" || !/^E[A-Z0-9]+$/.test(code)) return e; // not a system call's failure: a real bug
  const mapped = fsError(e, what);
  if (!(mapped instanceof IOFailure)) return mapped;
  return new IOFailure(mapped.message, { hint: hintFor(`${code} ${mapped.message}`, dir), cause: e });
}

function hintFor(message: string, dir: string): string {
  const kept = "the previous packed image is untouched";
  if (/ENOSPC|EDQUOT|no space left|quota/i.test(message))
    return `free space on the filesystem holding ${dir} (the new archive is written beside the old one before it replaces it); ${kept}`;
  if (/EIO|input\/output error/i.test(message)) return `a read or write failed on the disk (see dmesg); ${kept}`;
  return `${kept}; fix the cause and run the command again`;
}
