import { readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsError } from "../errors";
import { writeFileAtomic, writeFileIfChanged } from "../fs/atomic";
import { type FileJob, FileJobError, type JobFailure, JobRunner, type WriteDone, type WriteJob } from "./file-jobs";
import { FileWriterThread } from "./file-writer";
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
  /** Put `data` at `path` unless it already holds exactly that (BootFileCache may still be doing it when this returns). */
  write(path: string, data: string | Uint8Array, perms?: FilePerms): void;
  /** Remove the file if it is there; true when it was. */
  remove(path: string): boolean;
  exists(path: string): boolean;
  /** Before a caller touches files itself (grub2's links, pxelinux's symlinks): everything asked for so far is done. */
  settle?(): void;
}

export const directFiles: BootFileWriter = {
  write: (path, data, perms) => {
    if (perms) writePerms(path, toBuf(data), perms);
    else writeFileIfChanged(path, data);
  },
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

export { signature } from "./file-jobs";

/**
 * The per-node files of one `xcimg boot`, with shortcuts that keep 10,000 nodes fast and
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
 *   lost or stale, files are read and compared;
 * - with `threaded`, the writes and removals go to a writer thread (file-writer.ts) in the
 *   order they were asked for, while the caller renders the next nodes: what each write did is
 *   known after settle(), and a failed system call is thrown there (or by check()).
 */
export class BootFileCache implements BootFileWriter {
  readonly file: string;
  private readonly listings = new Map<string, Set<string>>();
  private loaded: Record<string, string> | null = null;
  private dirty = false;
  private readonly runner = new JobRunner();
  private writer: FileWriterThread | null = null;
  written = 0;

  constructor(
    stateDir: string,
    private readonly threaded = false,
  ) {
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

  write(path: string, data: string | Uint8Array, perms: FilePerms = { mode: 0o644 }): void {
    const names = this.listing(dirname(path));
    const name = basename(path);
    const job: WriteJob = { kind: "write", path, data, mode: perms.mode, gid: perms.gid, exists: names.has(name), rec: this.known[path] };
    names.add(name);
    this.run(job);
  }

  private run(job: FileJob): void {
    if (this.threaded) {
      this.writer ??= new FileWriterThread();
      this.writer.queue(job);
      return;
    }
    try {
      const r = this.runner.run(job);
      if (r) this.done(r);
    } catch (e) {
      throw e instanceof FileJobError ? rebuilt(e.failure) : e;
    }
  }

  /** The writer thread, started now (before the first file) when writes are threaded; for work to hand it besides files (host keys). */
  thread(): FileWriterThread | null {
    if (this.threaded) this.writer ??= new FileWriterThread();
    return this.writer;
  }

  private done(r: WriteDone): void {
    this.record(r.path, r.rec);
    if (r.wrote) this.written++;
  }

  /** Everything asked for is done (on disk, recorded); throws the first failed system call. */
  settle(): void {
    const w = this.writer;
    if (!w) return;
    const failure = w.settle((r) => this.done(r));
    if (failure) throw rebuilt(failure);
  }

  /** Throws as soon as the writer thread has reported a failure, so a run stops near where the sequential one would have. */
  check(): void {
    if (this.writer?.failed()) this.settle();
  }

  /** Stops the writer thread, after what was queued (a run that failed elsewhere). */
  close(): void {
    const w = this.writer;
    this.writer = null;
    if (!w) return;
    try {
      w.settle((r) => this.done(r));
    } finally {
      w.stop();
    }
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
    this.run({ kind: "remove", path });
    return true;
  }

  private record(path: string, value: string): void {
    if (this.known[path] === value) return;
    this.known[path] = value;
    this.dirty = true;
  }

  /** Not fsynced: a lost record only means the next run reads and compares. */
  save(): void {
    this.settle();
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

function rebuilt(f: JobFailure): Error {
  return fsError(Object.assign(new Error(f.message), { code: f.code }), f.what);
}
