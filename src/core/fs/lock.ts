import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { BusyError, fsError } from "../errors";

/**
 * An exclusive lock on one image directory, shared by capture, pack, lite, import and rm so
 * two of them never work on the same tree (xCAT locks genimage/packimage/rmimage the same way
 * and never locked imgimport, issue #2077). The lock file holds the owner's pid; a lock left
 * by a process that no longer exists is taken over.
 */
export interface Lock {
  release(): void;
}

export function lockDir(installdir: string): string {
  return join(installdir, ".xcimg", "locks");
}

export function acquireLock(installdir: string, subject: string, what: string): Lock {
  const dir = lockDir(installdir);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fsError(e, `cannot create lock directory ${dir}`);
  }
  const file = join(dir, `${createHash("sha256").update(subject).digest("hex").slice(0, 32)}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o644);
      writeSync(fd, `${process.pid}\n${what}\n${subject}\n`);
      closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            unlinkSync(file);
          } catch {
            // already gone: nothing to release
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw fsError(e, `cannot create lock ${file}`);
      const [pidLine = "", owner = "another xcimg command"] = safeRead(file).split("\n");
      const pid = Number.parseInt(pidLine, 10);
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
        throw new BusyError(`${subject} is locked by '${owner}' (pid ${pid})`, { hint: "wait for it to finish, then try again" });
      }
      try {
        unlinkSync(file); // stale: its process is gone
      } catch {
        // someone else removed it first; retry the create
      }
    }
  }
  throw new BusyError(`${subject} is locked by another xcimg command`, { hint: "wait for it to finish, then try again" });
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** True while a process with this pid exists (EPERM: it does, and belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The one lock every command that writes an image tree takes (capture, pack, lite, import,
 * rm): keyed by the directory's canonical path, so two names for one directory still
 * exclude each other, and a directory that does not exist yet locks the same as it will
 * once created.
 */
export function lockImageDir(installdir: string, dir: string, what: string): Lock {
  return acquireLock(installdir, `image directory ${canonicalPath(dir)}`, what);
}

/** realpath of the deepest existing ancestor, plus the components that do not exist yet. */
export function canonicalPath(p: string): string {
  const abs = resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return join(realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return abs;
      rest.push(basename(cur));
      cur = parent;
    }
  }
}
