import { chmodSync, closeSync, lstatSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { fsError } from "../errors";

/**
 * The database holds the passwd table's clear-text root password (xCAT keeps it there too),
 * so it is root's alone: the file and SQLite's companions (-wal, -shm, -journal) 0600, a
 * directory xcimg creates for it 0700. SQLite creates a new database 0644 (its default file
 * permissions less the umask) and gives its -wal/-shm/-journal files the database file's
 * mode, so creating the file 0600 before SQLite opens it covers them too; databases written
 * by an earlier xcimg are tightened here, once, with an info line.
 */
export const DB_COMPANIONS = ["", "-wal", "-shm", "-journal"] as const;

/** Create the database's directory (0700 for what we create) and the file (0600) if missing. */
export function preparePrivateDb(path: string, info: (msg: string) => void = () => {}): void {
  const dir = dirname(path);
  try {
    // recursive mkdir gives `mode` to every directory it creates and leaves existing ones alone
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, `cannot create the database directory ${dir}`);
  }
  try {
    // O_CREAT without O_TRUNC: an existing database is opened and closed untouched
    closeSync(openSync(path, "a", 0o600));
  } catch (e) {
    throw fsError(e, `cannot create database ${path}`);
  }
  tightenPrivateDb(path, info);
}

/**
 * Make an existing database and its companions root's alone (0600). Reading commands call it
 * too (open-readonly.ts) with `bestEffort`: a database readable by everyone is closed as soon as
 * any command sees it, but a read-only mount or a file that is not ours only gets a warning.
 */
export function tightenPrivateDb(path: string, info: (msg: string) => void = () => {}, bestEffort = false): void {
  const tightened: string[] = [];
  for (const suffix of DB_COMPANIONS) {
    const f = `${path}${suffix}`;
    let mode: number;
    try {
      const st = lstatSync(f);
      if (!st.isFile()) continue;
      mode = st.mode & 0o7777;
    } catch {
      continue; // no such companion
    }
    if ((mode & 0o077) === 0) continue;
    try {
      chmodSync(f, mode & 0o700);
    } catch (e) {
      if (!bestEffort) throw fsError(e, `cannot make ${f} private (mode 0${mode.toString(8)})`);
      info(`${f} is readable by other users (mode 0${mode.toString(8)}) and could not be made private: ${(e as Error).message}`);
      continue;
    }
    tightened.push(`${f} (was 0${mode.toString(8)})`);
  }
  if (tightened.length) info(`made the database readable by root only (it holds the passwd table): ${tightened.join(", ")} now 0600`);
}
