import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { fsError, UsageError } from "../errors";

/** A ^file is a list of node names; a file larger than this is not one (and would take minutes to expand). */
export const MAX_NODE_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Read a `^file` noderange. It is opened with O_NONBLOCK, so a FIFO (`^/tmp/fifo`) cannot
 * block the open waiting for a writer, and fstat'ed on that same descriptor, so only a regular
 * file of at most MAX_NODE_FILE_BYTES is read: `^/dev/zero` or `^/dev/stdin` is refused instead
 * of read forever. O_NOCTTY keeps a terminal device from becoming our controlling terminal.
 */
export function readNodeFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw fsError(e, `cannot read noderange file ${path}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UsageError(`noderange file ${path} is not a regular file`, { hint: "^file names a text file with one noderange per line" });
    if (st.size > MAX_NODE_FILE_BYTES) {
      throw new UsageError(`noderange file ${path} is larger than ${MAX_NODE_FILE_BYTES / 1024 / 1024} MiB`, {
        hint: "^file names a text file with one noderange per line",
      });
    }
    // read at most size+1 bytes: a file growing while we read is cut, never followed
    const buf = Buffer.alloc(st.size + 1);
    let got = 0;
    for (let n = 1; n > 0 && got < buf.length; got += n) n = readSync(fd, buf, got, buf.length - got, null);
    if (got > st.size) throw new UsageError(`noderange file ${path} grew while it was read`);
    return buf.subarray(0, got).toString("utf8");
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw fsError(e, `cannot read noderange file ${path}`);
  } finally {
    closeSync(fd);
  }
}
