import { existsSync, lstatSync, mkdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fsError, IOFailure } from "../errors";

/**
 * Moves staged files into place so that the whole import can be undone: every step records
 * how to reverse it. An existing file or tree is kept as `<path>.ORIG` (xCAT's backup); an
 * older `.ORIG` is set aside and deleted only at commit. Staging lives under installdir, so
 * these are renames on one filesystem; a destination elsewhere (--allow-dest) is copied to a
 * temporary name next to it first, then renamed.
 */
export class PlacementTx {
  private readonly undo: (() => void)[] = [];
  private readonly discard: string[] = [];
  /** Messages in xCAT's words for what was done. */
  readonly log: string[] = [];

  private mkdirs(dir: string): void {
    const missing: string[] = [];
    let d = dir;
    while (!existsSync(d)) {
      missing.push(d);
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
    for (const m of missing.reverse()) {
      try {
        mkdirSync(m, { mode: 0o755 });
      } catch (e) {
        throw fsError(e, `Failed to create ${m}`);
      }
      this.undo.push(() => rmdirSync(m));
    }
  }

  private aside(path: string): void {
    const tmp = join(dirname(path), `.xcimg-old.${process.pid}.${Date.now()}.${this.undo.length}`);
    renameSync(path, tmp);
    this.undo.push(() => renameSync(tmp, path));
    this.discard.push(tmp);
  }

  private exists(p: string): boolean {
    try {
      lstatSync(p);
      return true;
    } catch {
      return false;
    }
  }

  /** Move a staged file or tree to `to`; an existing one becomes `to.ORIG`. */
  place(from: string, to: string): void {
    try {
      this.mkdirs(dirname(to));
      if (this.exists(to)) {
        if (this.exists(`${to}.ORIG`)) this.aside(`${to}.ORIG`);
        this.log.push(`  Moving old ${to} to ${to}.ORIG.`);
        renameSync(to, `${to}.ORIG`);
        this.undo.push(() => renameSync(`${to}.ORIG`, to));
      }
      this.move(from, to);
    } catch (e) {
      if (e instanceof IOFailure) throw e;
      throw fsError(e, `cannot place ${to}`);
    }
  }

  private move(from: string, to: string): void {
    try {
      renameSync(from, to);
      this.undo.push(() => renameSync(to, from));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
    }
    // another filesystem: copy everything (xattrs, ACLs, owners) next to the target, then rename
    const tmp = join(dirname(to), `.xcimg-new.${process.pid}.${Date.now()}`);
    const cp = Bun.spawnSync(["cp", "-a", "--", from, tmp], { stderr: "pipe" });
    if (cp.exitCode !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      throw new IOFailure(`Failed to copy ${from} to ${to}: ${cp.stderr.toString().trim()}`);
    }
    renameSync(tmp, to);
    this.undo.push(() => rmSync(to, { recursive: true, force: true }));
  }

  /** Copy (not move) a staged file, for a file the manifest names twice. */
  copy(from: string, to: string): void {
    this.mkdirs(dirname(to));
    const tmp = join(dirname(to), `.xcimg-new.${process.pid}.${Date.now()}`);
    const cp = Bun.spawnSync(["cp", "-a", "--", from, tmp], { stderr: "pipe" });
    if (cp.exitCode !== 0) throw new IOFailure(`Failed to copy ${from} to ${to}: ${cp.stderr.toString().trim()}`);
    try {
      this.place(tmp, to);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  /** Make sure a directory exists (for a merged extra directory). */
  ensureDir(dir: string): void {
    try {
      this.mkdirs(dir);
    } catch (e) {
      throw fsError(e, `Failed to create ${dir}`);
    }
  }

  rollback(): void {
    for (const u of this.undo.reverse()) {
      try {
        u();
      } catch {
        // keep going: undo as much as possible; leftovers carry .xcimg- names
      }
    }
    this.undo.length = 0;
  }

  commit(): void {
    for (const d of this.discard) rmSync(d, { recursive: true, force: true });
    this.undo.length = 0;
  }
}
