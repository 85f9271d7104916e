import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname, sep } from "node:path";
import { DataError, fsError } from "../errors";
import { ImageRoot, lstatOrNull } from "../image/image-root";
import type { SyncTarget } from "./apply";
import type { SyncPlan } from "./plan";

/**
 * An image tree as a sync target. The tree came from a golden node and may hold hostile
 * symlinks, so nothing is ever written through one: the destination's directories are resolved
 * inside the tree the way the node will see them (ImageRoot: an absolute link restarts at the
 * image root, `..` stops there), the resolved directory is checked to be under the tree's real
 * path, and the file itself is written to a new temporary name (O_EXCL|O_NOFOLLOW) and renamed
 * over the destination — a symlink there is replaced, never followed.
 */
export class ImageTarget implements SyncTarget {
  private readonly img: ImageRoot;
  private readonly real: string;

  constructor(readonly root: string) {
    this.img = new ImageRoot(root);
    this.real = realpathSync(root);
  }

  /** Host path of `path` in the tree (its directories resolved, its last component as-is), creating missing directories. */
  private place(path: string, create: boolean): string {
    const host = this.img.at(path);
    const parent = dirname(host);
    if (create) this.mkdirs(parent);
    let realParent: string;
    try {
      realParent = realpathSync(parent);
    } catch (e) {
      throw fsError(e, `cannot resolve ${path} in ${this.root}`);
    }
    if (realParent !== this.real && !realParent.startsWith(this.real + sep)) {
      throw new DataError(`${path} resolves outside the image tree ${this.root}`, {
        hint: "a symlink in the image points out of it; fix the image or sync to another path",
      });
    }
    if (host === this.root) throw new DataError(`cannot sync onto the image's root directory itself`);
    return host;
  }

  private mkdirs(hostDir: string): void {
    if (hostDir === this.root || !hostDir.startsWith(this.root + sep)) return;
    const st = lstatOrNull(hostDir);
    if (st?.isDirectory()) return;
    if (st)
      throw new DataError(`${hostDir.slice(this.root.length)} in the image is not a directory`, {
        hint: "the synclist destination goes below a file or a link the image has",
      });
    this.mkdirs(dirname(hostDir));
    try {
      mkdirSync(hostDir, { mode: 0o755 });
    } catch (e) {
      throw fsError(e, `cannot create ${hostDir}`);
    }
  }

  async check(plan: SyncPlan): Promise<void> {
    for (const op of plan.ops) {
      const st = lstatOrNull(this.img.at(op.dest));
      if (op.op === "append" || op.op === "merge") await this.read(op.dest);
      else if ((op.op === "file" || op.op === "symlink") && st?.isDirectory())
        throw new DataError(`${op.dest} is a directory in the image: a file cannot replace it`, { hint: "fix the synclist's destination" });
    }
  }

  async hashes(paths: string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const p of paths) {
      const host = this.img.at(p);
      const st = lstatOrNull(host);
      out.set(p, st?.isFile() ? createHash("sha256").update(readFileSync(host)).digest("hex") : null);
    }
    return out;
  }

  /** APPEND and MERGE read the file they change: a link there is refused, never followed nor clobbered. */
  async read(path: string): Promise<Buffer | null> {
    const host = this.img.at(path);
    const st = lstatOrNull(host);
    if (st?.isSymbolicLink()) {
      throw new DataError(`${path} in the image ${this.root} is a symbolic link: xcimg does not append or merge through links`, {
        hint: "replace the link in the image with the file itself, or sync a whole file to it instead",
      });
    }
    return st?.isFile() ? readFileSync(host) : null;
  }

  async write(path: string, data: Buffer, mode: number): Promise<void> {
    const host = this.place(path, true);
    const old = lstatOrNull(host);
    if (old?.isDirectory()) throw new DataError(`${path} is a directory in the image: a file cannot replace it`);
    const temp = `${host}.xcimg-sync-${process.pid}`;
    try {
      const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      chmodSync(temp, mode);
      renameSync(temp, host);
    } catch (e) {
      rmSync(temp, { force: true });
      throw fsError(e, `cannot write ${path} in ${this.root}`);
    }
  }

  async mkdir(path: string, mode: number): Promise<void> {
    const host = this.place(path, true);
    const st = lstatOrNull(host);
    if (st?.isDirectory()) return;
    if (st?.isSymbolicLink()) {
      // a link: the directory is where the node would find it, resolved inside the tree (mkdir -p on the node)
      const target = this.img.follow(path);
      if (lstatOrNull(target)?.isDirectory()) return;
      this.mkdirs(target);
      this.place(target.slice(this.root.length) || "/", false);
      return;
    }
    if (st) throw new DataError(`${path} in the image is a file, not a directory`);
    try {
      mkdirSync(host, { mode });
    } catch (e) {
      throw fsError(e, `cannot create ${path} in ${this.root}`);
    }
  }

  async symlink(path: string, target: string): Promise<void> {
    const host = this.place(path, true);
    const st = lstatOrNull(host);
    if (st?.isDirectory()) throw new DataError(`${path} is a directory in the image: a link cannot replace it`);
    try {
      if (st) unlinkSync(host);
      symlinkSync(target, host);
    } catch (e) {
      throw fsError(e, `cannot link ${path} in ${this.root}`);
    }
  }
}
