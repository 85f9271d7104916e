import { Database } from "bun:sqlite";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { VERSION } from "../../version";
import { stateDir } from "../boot/paths";
import { authorizedKeys } from "../boot/site";
import type { Config } from "../config/schema";
import { copyDatabase } from "../db/copy";
import { isPostgresUrl, sqlitePathOf } from "../db/url";
import { DataError, fsError, NotFoundError } from "../errors";
import type { Logger } from "../log";

/**
 * The management node's side of `sn sync`, run by the service node over SSH as
 * `xcimg sn snapshot` (the MN's own binary and config: the SN needs to know no path on the MN
 * and no database credentials). Why the MN's xcimg and not `sqlite3 … "VACUUM INTO"`: it finds
 * the database the MN's config names, works for PostgreSQL too (copied into a SQLite file by
 * db/copy.ts), needs no sqlite3 package on the MN, and tells the SN the MN's installdir,
 * tftpdir and state directory in the same call.
 *
 * SQLite's `VACUUM INTO` reads in one transaction: the copy is consistent even while the MN
 * writes, and it is compact. The file is made in <state dir>/sn-snapshots/ (0600: it holds the
 * passwd table), the SN fetches it with rsync and drops it; ones older than an hour (an SN
 * killed mid-fetch) are removed by the next snapshot.
 */
export interface MnSnapshot {
  /** Absolute path of the snapshot file on the MN. */
  path: string;
  size: number;
  sha256: string;
  installdir: string;
  tftpdir: string;
  /** Where the MN keeps node host keys (ssh-host-keys.json). */
  stateDir: string;
  version: string;
  /** True when the MN has <installdir>/postscripts (nodes fetch their scripts from their server). */
  postscripts: boolean;
  /** The keys the MN's nodes let root in with (boot/site.ts authorizedKeys): SN-booted nodes must accept the MN too. */
  authorizedKeys: string;
}

const STALE_MS = 60 * 60 * 1000;

function snapshotDir(config: Config): string {
  return join(stateDir(config), "sn-snapshots");
}

export function makeSnapshot(config: Config, log: Logger): MnSnapshot {
  const dir = snapshotDir(config);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } catch (e) {
    throw fsError(e, `cannot create ${dir}`);
  }
  dropStale(dir);
  const path = join(dir, `${Date.now()}-${randomBytes(6).toString("hex")}.db`);
  const target = config["db.url"] || config["db.path"];
  if (isPostgresUrl(target)) {
    copyDatabase(target, path);
  } else {
    const src = sqlitePathOf(target);
    if (!existsSync(src)) throw new NotFoundError(`no database at ${src} on the management node`, { hint: "db.path in the management node's config" });
    const db = new Database(src, { readonly: true });
    try {
      db.exec("PRAGMA busy_timeout = 15000");
      db.query("VACUUM INTO ?").run(path);
    } catch (e) {
      throw new DataError(`cannot snapshot ${src}: ${(e as Error).message}`);
    } finally {
      db.close();
    }
  }
  chmodSync(path, 0o600);
  const bytes = readFileSync(path);
  return {
    path,
    size: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    installdir: config.installdir,
    tftpdir: config.tftpdir,
    stateDir: stateDir(config),
    version: VERSION,
    postscripts: existsSync(join(config.installdir, "postscripts")),
    authorizedKeys: authorizedKeys(config, log),
  };
}

/** Remove a snapshot the SN has fetched; only files in the snapshot directory. */
export function dropSnapshot(config: Config, path: string): boolean {
  const dir = snapshotDir(config);
  const p = resolve(path);
  if (dirname(p) !== dir || !/^\d+-[0-9a-f]{12}\.db$/.test(basename(p)))
    throw new DataError(`${path} is not a snapshot of ${dir}`, { hint: "sn snapshot --drop takes the path sn snapshot printed" });
  if (!existsSync(p)) return false;
  rmSync(p, { force: true });
  return true;
}

function dropStale(dir: string): void {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    try {
      if (Date.now() - statSync(p).mtimeMs > STALE_MS) rmSync(p, { force: true });
    } catch {
      // gone meanwhile
    }
  }
}
