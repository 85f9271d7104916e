import { renameSync } from "node:fs";
import { fsError } from "../errors";

/**
 * Swap two directories in one step with renameat2(RENAME_EXCHANGE) (Linux 3.15+, ext4, xfs,
 * btrfs, tmpfs): readers of `a` see the old tree or the new one, never a missing directory.
 * Where the filesystem cannot exchange (EINVAL, ENOSYS: NFS and older kernels), fall back to
 * two renames through `aside`; the caller's recovery handles a crash between them.
 */
type Renameat2 = (olddirfd: number, oldpath: Buffer, newdirfd: number, newpath: Buffer, flags: number) => number;

let native: { renameat2: Renameat2; errno: () => number } | null | undefined;

async function load(): Promise<typeof native> {
  if (native !== undefined) return native;
  try {
    const { dlopen, FFIType, ptr, read } = await import("bun:ffi");
    const lib = dlopen("libc.so.6", {
      renameat2: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      __errno_location: { args: [], returns: FFIType.ptr },
    });
    native = {
      renameat2: (a, p1, b, p2, flags) => lib.symbols.renameat2(a, ptr(p1), b, ptr(p2), flags) as number,
      errno: () => read.i32(lib.symbols.__errno_location() as never, 0),
    };
  } catch {
    native = null; // not glibc, or no renameat2: fall back
  }
  return native;
}

const AT_FDCWD = -100;
const RENAME_EXCHANGE = 2;
const EINVAL = 22;
const ENOSYS = 38;

const cstr = (s: string) => Buffer.from(`${s}\0`, "utf8");

/** Exchange `a` and `b` (both must exist). Returns how it was done. */
export async function exchangeDirs(a: string, b: string, aside: string): Promise<"exchange" | "renames"> {
  const n = await load();
  if (n) {
    const rc = n.renameat2(AT_FDCWD, cstr(a), AT_FDCWD, cstr(b), RENAME_EXCHANGE);
    if (rc === 0) return "exchange";
    const errno = n.errno();
    if (errno !== EINVAL && errno !== ENOSYS) {
      throw fsError(
        Object.assign(new Error(`renameat2 failed with errno ${errno}`), { code: errno === 28 ? "ENOSPC" : `errno ${errno}` }),
        `cannot swap ${b} into ${a}`,
      );
    }
  }
  try {
    renameSync(a, aside);
  } catch (e) {
    throw fsError(e, `cannot move ${a} aside`);
  }
  try {
    renameSync(b, a);
  } catch (e) {
    renameSync(aside, a);
    throw fsError(e, `cannot move ${b} to ${a}`);
  }
  renameSync(aside, b);
  return "renames";
}
