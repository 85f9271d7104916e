import { lstatSync, readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { writeFileAtomic, writeFileIfChanged } from "../fs/atomic";
import { replaceServedFile } from "./served-perms";

/** Mode and group a per-node file gets (served-perms.ts decides them for secret-bearing files). */
export interface FilePerms {
  mode: number;
  /** undefined: the group it is created with (root's). */
  gid?: number;
}

/**
 * How per-node boot files are written and removed. writeLoader and bootNodes go through it so
 * that `xcimg boot` of 10,000 nodes can use BootFileCache; other callers (clone, install) use
 * directFiles, which is the plain stat-read-compare-rename path.
 */
export interface BootFileWriter {
  /** Put `data` at `path` unless it already holds exactly that; true when it wrote. */
  write(path: string, data: string | Uint8Array, perms?: FilePerms): boolean;
  /** Remove the file if it is there; true when it was. */
  remove(path: string): boolean;
  exists(path: string): boolean;
}

export const directFiles: BootFileWriter = {
  write: (path, data, perms) => (perms ? writePerms(path, toBuf(data), perms) : writeFileIfChanged(path, data)),
  remove: unlinkQuiet,
  exists: (path) => statSync(path, { throwIfNoEntry: false }) !== undefined,
};

function toBuf(data: string | Uint8Array): Buffer {
  return typeof data === "string" ? Buffer.from(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
}

function unlinkQuiet(p: string): boolean {
  try {
    unlinkSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * The same as served-perms.ts's writeServedFile: an identical file with the right mode and
 * group is left alone; otherwise a temporary file gets the content, then the mode and group,
 * and is renamed into place — never readable by more than `p` allows, never seen half-written.
 */
function writePerms(path: string, buf: Buffer, p: FilePerms): boolean {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st && (p.gid === undefined || st.gid === p.gid) && st.size === buf.length && (st.mode & 0o7777) === p.mode && readFileSync(path).equals(buf))
    return false;
  replaceServedFile(path, buf, p);
  return true;
}

/** ino, size, mtime, ctime, mode, gid: any write, chmod, chown or replacement changes one (ctime cannot be set back). */
export function signature(st: { ino: number; size: number; mtimeMs: number; ctimeMs: number; mode: number; gid: number }): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.mode}:${st.gid}`;
}

function digest(buf: Buffer): string {
  return Bun.SHA256.hash(buf, "base64") as unknown as string;
}

/**
 * The per-node files of one `xcimg boot`, with two shortcuts that keep 10,000 nodes fast and
 * change nothing about what ends up on disk:
 *
 * - each boot directory is listed once, so a file that is not there costs no stat and a
 *   removal of another loader's file that was never written costs no unlink (the first run
 *   of 10,000 xnba nodes used to try 40,000 unlinks that failed);
 * - boot-files.json in xcimg's private state directory records, for every file boot wrote or
 *   found identical, its stat signature (inode, size, mtime, ctime, mode, group) and the
 *   SHA-256 of its content. A file whose signature is unchanged and whose new content has the
 *   same digest is left alone without being read: a re-run is one stat per file. Anything
 *   that touched the file since (a write, chmod, chown, a replacement) changes its ctime,
 *   which nobody can set back, so it is read and compared as before. The record is a cache:
 *   lost or stale, files are read and compared.
 */
export class BootFileCache implements BootFileWriter {
  readonly file: string;
  private readonly listings = new Map<string, Set<string>>();
  private loaded: Record<string, string> | null = null;
  private dirty = false;
  written = 0;

  constructor(stateDir: string) {
    this.file = join(stateDir, "boot-files.json");
  }

  /** Read on first use: a run whose nodes are all unchanged (node-record.ts) never parses it. */
  private get known(): Record<string, string> {
    if (this.loaded) return this.loaded;
    let known: Record<string, string> = {};
    try {
      const parsed = JSON.parse(readFileSync(this.file, "utf8")) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) known = parsed as Record<string, string>;
    } catch {
      // absent or unreadable: every file is read and compared, and the record is rebuilt
    }
    this.loaded = Object.assign(Object.create(null) as Record<string, string>, known);
    return this.loaded;
  }

  private listing(dir: string): Set<string> {
    let names = this.listings.get(dir);
    if (!names) {
      try {
        names = new Set(readdirSync(dir));
      } catch {
        names = new Set();
      }
      this.listings.set(dir, names);
    }
    return names;
  }

  exists(path: string): boolean {
    return this.listing(dirname(path)).has(basename(path));
  }

  write(path: string, data: string | Uint8Array, perms: FilePerms = { mode: 0o644 }): boolean {
    const buf = toBuf(data);
    const sum = digest(buf);
    if (this.exists(path)) {
      // lstat: a symlink planted in its place is replaced, never followed
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (st?.isFile() && (st.mode & 0o7777) === perms.mode && (perms.gid === undefined || st.gid === perms.gid) && st.size === buf.length) {
        const sig = signature(st);
        const rec = this.known[path];
        if (rec === `${sig}:${sum}`) return false;
        // untouched since it was recorded with another digest (a switch to another image): it
        // differs, and reading it back to find out would cost a read per file
        if (!rec?.startsWith(`${sig}:`) && readFileSync(path).equals(buf)) {
          this.record(path, `${sig}:${sum}`);
          return false;
        }
      }
    }
    replaceServedFile(path, buf, perms);
    this.listing(dirname(path)).add(basename(path));
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st) this.record(path, `${signature(st)}:${sum}`);
    this.written++;
    return true;
  }

  /** The lstat signature this run recorded for `path` when it wrote it or found it identical (saves node-record.ts a second lstat). */
  signatureOf(path: string): string | undefined {
    const v = this.loaded?.[path];
    return v === undefined ? undefined : v.slice(0, v.lastIndexOf(":"));
  }

  remove(path: string): boolean {
    if (!this.exists(path)) return false;
    this.listing(dirname(path)).delete(basename(path));
    if (path in this.known) {
      delete this.known[path];
      this.dirty = true;
    }
    return unlinkQuiet(path);
  }

  private record(path: string, value: string): void {
    if (this.known[path] === value) return;
    this.known[path] = value;
    this.dirty = true;
  }

  /** Not fsynced: a lost record only means the next run reads and compares. */
  save(): void {
    if (!this.loaded) return;
    // files removed by others (boot --offline, an admin) leave the record with the listing
    for (const path of Object.keys(this.known)) {
      const names = this.listings.get(dirname(path));
      if (names && !names.has(basename(path))) {
        delete this.known[path];
        this.dirty = true;
      }
    }
    if (!this.dirty) return;
    writeFileAtomic(this.file, JSON.stringify(this.known), 0o600, { fsync: false });
    this.dirty = false;
  }
}
