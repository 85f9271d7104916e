import { lstatSync, readlinkSync, type Stats } from "node:fs";
import { join, posix } from "node:path";
import { DataError } from "../errors";

const MAX_SYMLINK_HOPS = 40;

export interface Resolved {
  /** Host path inside the image root. */
  host: string;
  /** True when any step of the walk went through <root>/.default (readlink -m into .default). */
  viaDefault: boolean;
}

/**
 * Paths inside an image, resolved the way the node will see them: symlinks are followed with
 * the image as "/" (an absolute target restarts at the image root, ".." stops at it).
 *
 * Every write xcimg makes into an image tree (liteimg's structure, pack's xcatinfo and
 * localtime) goes through this: liteimg runs `cp`, `rm -rf`, `touch` and `readlink -m` on
 * "<rootimg><file>" directly, so an absolute symlink in a captured image (var/run -> /run)
 * makes xCAT read or write the management node's own /run. xcimg never leaves the image root.
 */
export class ImageRoot {
  constructor(readonly root: string) {}

  /** Resolve an image path; the last component is followed only when followLast is set. */
  resolve(path: string, followLast: boolean): Resolved {
    const queue = path.split("/").filter((c) => c !== "");
    const stack: string[] = [];
    let hops = 0;
    let viaDefault = false;
    while (queue.length > 0) {
      const c = queue.shift() as string;
      if (c === ".") continue;
      if (c === "..") {
        stack.pop();
        continue;
      }
      const host = join(this.root, ...stack, c);
      const st = lstatOrNull(host);
      if (st?.isSymbolicLink() && (queue.length > 0 || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) throw new DataError(`too many levels of symbolic links resolving ${path} inside ${this.root}`);
        const target = readlinkSync(host);
        if (target.startsWith("/")) stack.length = 0;
        queue.unshift(...target.split("/").filter((x) => x !== ""));
        continue;
      }
      stack.push(c);
      if (stack[0] === ".default") viaDefault = true;
    }
    return { host: stack.length ? join(this.root, ...stack) : this.root, viaDefault };
  }

  /** The host path of an image path with its directory resolved and its last component as-is. */
  at(path: string): string {
    return this.resolve(path, false).host;
  }

  /** Follow everything, like `-e`/`-d`/`-f` in Perl or `readlink -m`. */
  follow(path: string): string {
    return this.resolve(path, true).host;
  }

  lstat(path: string): Stats | null {
    return lstatOrNull(this.at(path));
  }

  /** stat() semantics: what the path finally points at, or null (missing or dangling). */
  stat(path: string): Stats | null {
    return lstatOrNull(this.follow(path));
  }

  /**
   * The host path of `path` only if no component below `under` is a symlink — for removing
   * leftovers literally, never through a link into content that belongs to something else.
   */
  literal(path: string, under: string): string | null {
    const rel = posix.relative(under, path);
    if (rel.startsWith("..")) return null;
    let cur = this.follow(under);
    const parts = rel.split("/").filter(Boolean);
    for (let i = 0; i < parts.length; i++) {
      cur = join(cur, parts[i] as string);
      const st = lstatOrNull(cur);
      if (!st) return null;
      if (i < parts.length - 1 && !st.isDirectory()) return null;
    }
    return cur;
  }
}

export function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw e;
  }
}
