import { closeSync, fchmodSync, fchownSync, fstatSync, lstatSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { tempNameFor } from "../fs/atomic";

/**
 * What `xcimg boot` does to one per-node file, as plain data, so that it can be done on the
 * main thread or in the writer worker (file-worker.ts) alike: boot-files.ts decides from its
 * directory listing and its record what to ask for, this file does it.
 */
export interface WriteJob {
  kind: "write";
  path: string;
  data: string | Uint8Array;
  mode: number;
  /** undefined: the group it is created with (root's). */
  gid?: number;
  /** The directory listing has the name (absent: no lstat, the file is created). */
  exists: boolean;
  /** boot-files.json's `<signature>:<sha256>` for the path, if any. */
  rec?: string;
}

export interface RemoveJob {
  kind: "remove";
  path: string;
}

export type FileJob = WriteJob | RemoveJob;

/** A write's outcome: the path's new record value and whether the file was (re)written. */
export interface WriteDone {
  path: string;
  rec: string;
  wrote: boolean;
}

/** A failed system call, as fsError (errors.ts) wants it: rebuilt on the main thread from a worker's report. */
export interface JobFailure {
  code?: string;
  message: string;
  what: string;
}

/** The writer worker's protocol (file-worker.ts): shared counters, then batches answered on a port. */
export const CTL_DONE = 0;
export const CTL_FAILED = 1;
/** How many host-key requests the worker has answered (KeysRequest). */
export const CTL_KEYS = 2;
/** Set by the worker once it has its init message: a worker that never starts is an error, not a wait. */
export const CTL_READY = 3;

export interface WorkerInit {
  ctl: SharedArrayBuffer;
  port: MessagePort;
}

/**
 * A batch of jobs as three flat values, because structured cloning of ~100 job objects per
 * message cost more than writing their files: `meta` holds six numbers per job (kind, mode, gid
 * or -1, exists, data offset, data length), `text` each job's path and record value, NUL-
 * terminated, and `bytes` (transferred, not copied) every write's content end to end.
 */
export interface WorkerBatch {
  seq: number;
  meta: Float64Array;
  text: string;
  bytes: ArrayBuffer;
}

/** Host keys to make (their comments), answered on the port with a KeysResult in the same order. */
export interface KeysRequest {
  keys: string[];
}

export interface KeysResult {
  keys: { private: string; public: string }[];
}

/** The writes' outcomes of one batch, in order: path, record value and "1" when written, each NUL-terminated. */
export interface BatchResult {
  seq: number;
  text: string;
  failure?: JobFailure;
}

const META = 6;

export class BatchBuilder {
  private meta: number[] = [];
  private text: string[] = [];
  private bytes = new Uint8Array(1 << 18);
  private used = 0;
  count = 0;

  get size(): number {
    return this.used;
  }

  add(job: FileJob): void {
    this.count++;
    if (job.kind === "remove") {
      this.meta.push(1, 0, -1, 0, 0, 0);
      this.text.push(job.path, "");
      return;
    }
    const d = job.data;
    const len = typeof d === "string" ? Buffer.byteLength(d) : d.length;
    if (this.used + len > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + len));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    if (typeof d === "string") Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length).write(d, this.used, "utf8");
    else this.bytes.set(d, this.used);
    this.meta.push(0, job.mode, job.gid ?? -1, job.exists ? 1 : 0, this.used, len);
    this.text.push(job.path, job.rec ?? "");
    this.used += len;
  }

  /** The batch to post (its `bytes` in the transfer list); the builder starts afresh. */
  take(seq: number): WorkerBatch {
    const b: WorkerBatch = {
      seq,
      meta: new Float64Array(this.meta),
      text: `${this.text.join("\0")}\0`,
      bytes: this.bytes.buffer.slice(0, this.used) as ArrayBuffer,
    };
    this.meta = [];
    this.text = [];
    this.used = 0;
    this.count = 0;
    return b;
  }
}

export function batchJobs(b: WorkerBatch): FileJob[] {
  const jobs: FileJob[] = [];
  const text = b.text.split("\0");
  const bytes = new Uint8Array(b.bytes);
  for (let i = 0; i * META < b.meta.length; i++) {
    const m = b.meta.subarray(i * META, i * META + META);
    const path = text[2 * i] as string;
    if (m[0] === 1) {
      jobs.push({ kind: "remove", path });
      continue;
    }
    const rec = text[2 * i + 1] as string;
    const off = m[4] as number;
    jobs.push({
      kind: "write",
      path,
      data: bytes.subarray(off, off + (m[5] as number)),
      mode: m[1] as number,
      gid: m[2] === -1 ? undefined : (m[2] as number),
      exists: m[3] === 1,
      rec: rec === "" ? undefined : rec,
    });
  }
  return jobs;
}

export function resultText(done: readonly WriteDone[]): string {
  let s = "";
  for (const d of done) s += `${d.path}\0${d.rec}\0${d.wrote ? "1" : ""}\0`;
  return s;
}

export function resultsOf(text: string, onDone: (r: WriteDone) => void): void {
  const f = text.split("\0");
  for (let i = 0; i + 2 < f.length; i += 3) onDone({ path: f[i] as string, rec: f[i + 1] as string, wrote: f[i + 2] === "1" });
}

export class FileJobError extends Error {
  constructor(readonly failure: JobFailure) {
    super(failure.message);
  }
}

/** ino, size, mtime, ctime, mode, gid: any write, chmod, chown or replacement changes one (ctime cannot be set back). */
export function signature(st: { ino: number; size: number; mtimeMs: number; ctimeMs: number; mode: number; gid: number }): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.mode}:${st.gid}`;
}

function digest(data: string | Uint8Array): string {
  return Bun.SHA256.hash(data, "base64") as unknown as string;
}

function byteLength(data: string | Uint8Array): number {
  return typeof data === "string" ? Buffer.byteLength(data) : data.length;
}

function equalsFile(path: string, data: string | Uint8Array): boolean {
  return readFileSync(path).equals(typeof data === "string" ? Buffer.from(data) : data);
}

/**
 * Per directory and mode: whether a file created with that mode gets exactly it (the umask and
 * any default ACL leave it alone), learned from the first file and trusted for the rest of the
 * run, so that 20,000 loader files need no fchmod. Each file's final signature is taken by
 * fstat after the rename: were a mode ever wrong, the next boot would see it and rewrite the file.
 */
export class JobRunner {
  private readonly createdModeOk = new Map<string, boolean>();
  private readonly uid = process.getuid?.() ?? 0;

  run(job: FileJob): WriteDone | null {
    if (job.kind === "remove") {
      try {
        unlinkSync(job.path);
      } catch {
        // already gone
      }
      return null;
    }
    return this.write(job);
  }

  private write(j: WriteJob): WriteDone {
    const sum = digest(j.data);
    const { rec } = j;
    // recorded with another digest: the content differs (a switch to another image), or the file
    // was touched since and is replaced all the same; either way no lstat to find out
    if (j.exists && !(rec !== undefined && !rec.endsWith(`:${sum}`))) {
      // lstat: a symlink planted in its place is replaced, never followed
      const st = lstatSync(j.path, { throwIfNoEntry: false });
      if (st?.isFile() && (st.mode & 0o7777) === j.mode && (j.gid === undefined || st.gid === j.gid) && st.size === byteLength(j.data)) {
        const sig = signature(st);
        if (rec === `${sig}:${sum}`) return { path: j.path, rec, wrote: false };
        if (equalsFile(j.path, j.data)) return { path: j.path, rec: `${sig}:${sum}`, wrote: false };
      }
    }
    return { path: j.path, rec: `${this.replace(j)}:${sum}`, wrote: true };
  }

  /**
   * A temporary file with the content and its final mode and group, renamed over `path`: never
   * readable by more than the mode allows, never seen half-written. A file with a group is
   * created 0600 and only opened to the group once it has it. Returns the new file's signature.
   */
  private replace(j: WriteJob): string {
    const temp = tempNameFor(j.path);
    const key = `${dirname(j.path)}\0${j.mode}`;
    let fd: number;
    try {
      fd = openSync(temp, "wx", j.gid === undefined ? j.mode : 0o600);
    } catch (e) {
      throw failure(e, `cannot write ${j.path}`);
    }
    try {
      try {
        const d = j.data;
        if (typeof d === "string") {
          const n = writeSync(fd, d);
          if (n !== Buffer.byteLength(d)) writeAll(fd, Buffer.from(d).subarray(n));
        } else writeAll(fd, d);
        if (j.gid !== undefined) {
          fchownSync(fd, this.uid, j.gid);
          fchmodSync(fd, j.mode);
        } else {
          let ok = this.createdModeOk.get(key);
          if (ok === undefined) {
            ok = (fstatSync(fd).mode & 0o7777) === j.mode;
            this.createdModeOk.set(key, ok);
          }
          if (!ok) fchmodSync(fd, j.mode);
        }
        renameSync(temp, j.path);
      } catch (e) {
        rmSync(temp, { force: true });
        throw failure(e, `cannot write ${j.path}`);
      }
      // after the rename, which changes the ctime; by fd, so it is this file's whatever happens to the name
      return signature(fstatSync(fd));
    } finally {
      closeSync(fd);
    }
  }
}

function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function failure(e: unknown, what: string): FileJobError {
  const err = e as NodeJS.ErrnoException;
  return new FileJobError({ code: err?.code, message: err?.message ?? String(e), what });
}
