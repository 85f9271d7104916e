import { accessSync, constants, lstatSync, statSync } from "node:fs";

/**
 * Yes/no questions about a path, false when it cannot be asked (absent, a broken link, no
 * permission to look). One definition each: eleven private copies had drifted apart on
 * whether they follow symlinks (issue #13).
 */

/** A directory, or a symlink to one. */
export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A directory itself, not a symlink to one: for paths inside an image tree, whose links may point out of it. */
export function isDirNotLink(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A regular file, or a symlink to one. */
export function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Anything at `p`, a dangling symlink included (existsSync follows links and says no). */
export function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** This process may read `p` (a file or a directory). */
export function readable(p: string): boolean {
  try {
    accessSync(p, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** A regular file this process may read. */
export function readableFile(p: string): boolean {
  return readable(p) && isFile(p);
}
