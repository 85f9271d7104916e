import { existsSync, lstatSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsError } from "../errors";

/**
 * Two-phase delete: every path is first renamed aside next to itself (same filesystem, so the
 * rename is atomic), then either deleted for good or put back. A command that must remove
 * files and rows together can therefore roll the files back when the database write fails.
 */
export class StagedRemoval {
  private readonly moved: { from: string; to: string; dir: boolean }[] = [];

  add(path: string): boolean {
    if (!existsSync(path)) return false;
    const to = join(dirname(path), `.xcimg-rm.${process.pid}.${Date.now()}.${basename(path)}`);
    let dir = false;
    try {
      dir = lstatSync(path).isDirectory();
      renameSync(path, to);
    } catch (e) {
      this.rollback();
      throw fsError(e, `cannot remove ${path}`);
    }
    this.moved.push({ from: path, to, dir });
    return true;
  }

  get paths(): string[] {
    return this.moved.map((m) => m.from);
  }

  /** The staged paths that are directories (rmimage says "Removing directory" for them). */
  get directories(): string[] {
    return this.moved.filter((m) => m.dir).map((m) => m.from);
  }

  commit(): void {
    for (const m of this.moved) rmSync(m.to, { recursive: true, force: true });
    this.moved.length = 0;
  }

  rollback(): void {
    for (const m of this.moved.reverse()) {
      try {
        renameSync(m.to, m.from);
      } catch {
        // leave the aside copy in place rather than lose it; its name says where it came from
      }
    }
    this.moved.length = 0;
  }
}
