import { chmodSync, chownSync, lstatSync, mkdirSync, realpathSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { DataError, fsError, IOFailure } from "../errors";
import { isInside } from "../image/paths";

/**
 * Moves staged files into place so that the whole import can be undone: every step records
 * how to reverse it. An existing file or tree is kept as `<path>.ORIG` (xCAT's backup); an
 * older `.ORIG` is set aside and deleted only at commit. Staging lives under installdir, so
 * these are renames on one filesystem; a destination elsewhere (--allow-dest) is copied to a
 * temporary name next to it first, then renamed.
 *
 * Nothing is written through a symbolic link below a root (installdir, an --allow-dest
 * directory): directories are made one component at a time, each checked with lstat right
 * after mkdir (which never follows a link), and after every rename the directory it landed in
 * is resolved with realpath and must be the one planned. A link in the way — the site's own or
 * one an earlier step of the same bundle placed — stops the import and everything is undone.
 */
export class PlacementTx {
  private readonly undo: (() => void)[] = [];
  private readonly discard: string[] = [];
  /** Messages in xCAT's words for what was done. */
  readonly log: string[] = [];
  private readonly roots: { lexical: string; physical: string }[];

  /** `roots`: the directories destinations may lie in (themselves trusted: the admin's configuration). */
  constructor(roots: string[]) {
    this.roots = roots.map((r) => posix.normalize(r).replace(/(.)\/$/, "$1")).map((lexical) => ({ lexical, physical: "" }));
    // the longest first, so a destination is checked below the most specific root
    this.roots.sort((a, b) => b.lexical.length - a.lexical.length);
  }

  private rootOf(p: string): { lexical: string; physical: string } {
    const r = this.roots.find((x) => isInside(p, x.lexical));
    if (!r) throw new Error(`internal: ${p} lies in no destination root`);
    if (!r.physical) {
      mkdirSync(r.lexical, { recursive: true, mode: 0o755 });
      r.physical = realpathSync(r.lexical);
    }
    return r;
  }

  /** Where `p` must resolve to: its root's real path plus the rest, unresolved. */
  private expected(p: string): string {
    const r = this.rootOf(p);
    return r.physical + p.slice(r.lexical.length);
  }

  private refuseLink(p: string, why: string): never {
    throw new DataError(`${p} ${why}; xcimg does not place files through a symbolic link`, {
      hint: "nothing was imported; if the link is your site's own, replace it by a directory (or import to a profile that avoids it)",
    });
  }

  /** Create `dir` and its missing parents below its root, refusing any link on the way. */
  private mkdirs(dir: string): void {
    const r = this.rootOf(dir);
    let at = r.lexical;
    for (const c of dir
      .slice(r.lexical.length)
      .split("/")
      .filter((x) => x)) {
      at = join(at, c);
      let made = false;
      try {
        mkdirSync(at, { mode: 0o755 });
        made = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw fsError(e, `Failed to create ${at}`);
      }
      const st = lstatSync(at);
      if (st.isSymbolicLink()) this.refuseLink(at, "is a symbolic link");
      if (!st.isDirectory())
        throw new IOFailure(`Failed to create ${at}: it exists and is not a directory`, { hint: "nothing was imported; move it away and try again" });
      if (made) {
        const here = at;
        this.undo.push(() => rmdirSync(here));
        // mkdir's mode is cut by the umask; a placed tree is 0755 root:root whatever the umask
        chmodSync(at, 0o755);
        chownSync(at, 0, 0);
      }
      if (realpathSync(at) !== this.expected(at)) this.refuseLink(at, `resolves to ${realpathSync(at)}`);
    }
  }

  /** After a rename: the directory `to` landed in must still be the planned one. */
  private landedIn(to: string): void {
    const dir = dirname(to);
    const real = realpathSync(dir);
    if (real !== this.expected(dir)) this.refuseLink(dir, `resolves to ${real}`);
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
      this.landedIn(to);
    } catch (e) {
      if (e instanceof IOFailure || e instanceof DataError) throw e;
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

  /** Make sure a directory exists (for a merged extra directory). */
  ensureDir(dir: string): void {
    try {
      this.mkdirs(dir);
    } catch (e) {
      if (e instanceof IOFailure || e instanceof DataError) throw e;
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
