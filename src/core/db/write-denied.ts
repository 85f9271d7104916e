import { dirname } from "node:path";
import { PermissionFailure } from "../errors";

/**
 * A writing command on a database it cannot write — a read-only mount, a directory or file
 * without write permission, an immutable file — gets one clear message and exit 77 instead of
 * SQLite's "unable to open database file" or an internal error.
 */
export function writeDenied(path: string, err: unknown): PermissionFailure | null {
  const e = err as { code?: string; message?: string };
  const text = `${e?.code ?? ""} ${e?.message ?? String(err)}`;
  if (
    !/SQLITE_READONLY|SQLITE_CANTOPEN|SQLITE_PERM|readonly database|unable to open database|EROFS|EACCES|EPERM|read-only file system|permission denied/i.test(
      text,
    )
  )
    return null;
  return new PermissionFailure(`cannot write the database ${path}: ${dirname(path)} or the file is read-only for this user`, {
    hint: "run this command as a user who can write there (or remount it read-write); commands that only read (list, show, table dump) work as they are",
    cause: err,
  });
}
