import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";

/**
 * The node's stderr during the capture stream: tar's messages, then `\n<marker>\n` and the new
 * snapshot file to the end (stream.ts). Both parts are bounded as they arrive, because the node
 * is not trusted to send little: the messages keep their first MAX_MESSAGES bytes (the rest is
 * counted, not kept), and the snapshot is written to a file as it comes (memory stays flat)
 * and fails the capture once it passes MAX_SNAPSHOT (overflow); it is read back only when
 * the capture succeeded.
 *
 * MAX_SNAPSHOT is generous: GNU tar's snapshot holds each directory's device, inode, times and
 * the names it contains, about the size of all names in the tree (some 25 MB for a million
 * files); 512 MiB is a tree of tens of millions of files, far past any golden node.
 */
export const MAX_MESSAGES = 1024 * 1024;
export const MAX_SNAPSHOT = 512 * 1024 * 1024;

export class NodeStderr {
  private readonly marker: Buffer;
  /** Bytes before the marker not yet known not to start it. */
  private window = Buffer.alloc(0);
  private readonly text: Buffer[] = [];
  private textBytes = 0;
  private dropped = 0;
  /** Open on the spool file once the marker was seen. */
  private snarFd: number | null = null;
  private snarBytes = 0;
  /** The snapshot went past its cap; nothing more is kept. */
  overflow = false;
  /** Writing the spool failed (a full disk: the local tar usually says so first). */
  writeError: Error | null = null;

  constructor(
    marker: string,
    /** Where the snapshot is spooled (removed by close()). */
    private readonly spool: string,
    private readonly limits = { messages: MAX_MESSAGES, snapshot: MAX_SNAPSHOT },
  ) {
    this.marker = Buffer.from(`\n${marker}\n`, "latin1");
  }

  push(chunk: Buffer): void {
    if (this.overflow || this.writeError) return;
    if (this.snarFd !== null) {
      this.snarBytes += chunk.length;
      if (this.snarBytes > this.limits.snapshot) {
        this.overflow = true;
        return;
      }
      try {
        writeSync(this.snarFd, chunk);
      } catch (e) {
        this.writeError = e as Error;
      }
      return;
    }
    const buf = this.window.length ? Buffer.concat([this.window, chunk]) : chunk;
    const at = buf.indexOf(this.marker);
    if (at >= 0) {
      this.keep(buf.subarray(0, at));
      this.window = Buffer.alloc(0);
      try {
        this.snarFd = openSync(this.spool, "w", 0o600);
      } catch (e) {
        this.writeError = e as Error;
        return;
      }
      const rest = buf.subarray(at + this.marker.length);
      if (rest.length) this.push(rest);
      return;
    }
    // the marker may start in the last bytes: hold them back until the next chunk
    const safe = Math.max(0, buf.length - (this.marker.length - 1));
    this.keep(buf.subarray(0, safe));
    this.window = Buffer.from(buf.subarray(safe));
  }

  private keep(b: Buffer): void {
    const room = Math.max(0, this.limits.messages - this.textBytes);
    if (room > 0) this.text.push(Buffer.from(b.subarray(0, room)));
    this.textBytes += Math.min(room, b.length);
    this.dropped += Math.max(0, b.length - room);
  }

  /** The messages, and the snapshot if complete and well-formed (GNU tar format 2: "GNU tar-" … NUL). */
  result(): { text: string; snar: Buffer | null } {
    const more = this.dropped ? `\n(${this.dropped} more bytes of messages from the node not kept)\n` : "";
    const text = Buffer.concat([...this.text, ...(this.snarFd === null ? [this.window] : [])]).toString("utf8") + more;
    if (this.snarFd === null || this.overflow || this.writeError) return { text, snar: null };
    const body = readFileSync(this.spool);
    const valid = body.subarray(0, 8).toString("latin1") === "GNU tar-" && body.at(-1) === 0;
    return { text, snar: valid ? body : null };
  }

  close(): void {
    if (this.snarFd !== null) closeSync(this.snarFd);
    this.snarFd = null;
    rmSync(this.spool, { force: true });
  }

  get snapshotBytes(): number {
    return this.snarBytes;
  }
}
