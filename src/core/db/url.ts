/**
 * What `[db] url` (or XCIMG_DB_URL, or `db copy`'s arguments) may be: a PostgreSQL url as
 * libpq and Bun.SQL take it, `sqlite:///abs/path` / `sqlite:relative`, or a plain file path.
 */
export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

export function isSqliteUrl(s: string): boolean {
  return /^sqlite:/i.test(s);
}

/** The file a SQLite target names: sqlite:///var/x.db → /var/x.db, sqlite:x.db → x.db, a path as is. */
export function sqlitePathOf(s: string): string {
  if (!isSqliteUrl(s)) return s;
  const rest = s.replace(/^sqlite:/i, "");
  return rest.startsWith("//") ? decodeURIComponent(rest.slice(2)) : decodeURIComponent(rest);
}

/** Why a `[db] url` value is unusable, or null. */
export function dbUrlProblem(s: string): string | null {
  if (s === "") return null;
  if (isSqliteUrl(s)) return sqlitePathOf(s) === "" ? "names no file (sqlite:///path/to/file.db)" : null;
  if (!isPostgresUrl(s)) return "must be postgresql://user@host:port/database or sqlite:///path";
  try {
    const u = new URL(s);
    if (!u.hostname && !u.searchParams.get("host")) return "names no host (postgresql://user@host:port/database)";
    if (u.pathname.replace(/^\//, "") === "") return "names no database (postgresql://user@host:port/database)";
  } catch {
    return "is not a valid url";
  }
  return null;
}
