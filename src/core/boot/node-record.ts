import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../fs/atomic";
import { signature } from "./boot-files";

/**
 * What lets an unchanged `xcimg boot` of 10,000 nodes skip rendering them (docs/bench/boot.md):
 * boot-nodes.json, next to boot-files.json in the private state directory, keeps per node
 *  - the digest of everything its files were rendered from (node-inputs.ts: the code that
 *    rendered them, the configuration, the image, the site rows, the node's attributes as
 *    boot leaves them, its host key, what its method computed for it), and
 *  - the lstat signature (inode, size, mtime, ctime, mode, group) of each file boot left for it,
 *    taken right after it was written or found identical.
 * The next run computes the node's digest again; when it is the same and every file still has
 * its signature, the files are exactly what rendering would produce again, and the node costs
 * its lstats. Any edit, chmod, chown, replacement or removal changes a signature (ctime cannot be
 * set back) and the node is rendered and compared as before. A record lost, garbled, or written
 * by another binary only means every node is rendered again.
 */
interface Entry {
  key: string;
  files: [path: string, sig: string][];
  /** The render's warning for this node (postscripts not found), repeated when it is skipped. */
  warning?: string;
}

export interface KeptNode {
  files: string[];
  warning?: string;
}

export class NodeRecord {
  readonly file: string;
  private readonly nodes: Record<string, Entry>;
  private dirty = false;

  constructor(stateDir: string) {
    this.file = join(stateDir, "boot-nodes.json");
    let nodes: Record<string, Entry> = {};
    try {
      const parsed = JSON.parse(readFileSync(this.file, "utf8")) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) nodes = parsed as Record<string, Entry>;
    } catch {
      // absent or unreadable: every node is rendered, and the record is rebuilt
    }
    this.nodes = Object.assign(Object.create(null) as Record<string, Entry>, nodes);
  }

  /** The node's files when they were rendered from `key` and none of them changed since; else null. */
  kept(node: string, key: string): KeptNode | null {
    const e = this.nodes[node];
    if (!e || e.key !== key || !Array.isArray(e.files) || e.files.length === 0) return null;
    for (const f of e.files) {
      if (!Array.isArray(f) || typeof f[0] !== "string") return null;
      const st = lstatSync(f[0], { throwIfNoEntry: false });
      if (!st || signature(st) !== f[1]) return null;
    }
    return { files: e.files.map((f) => f[0]), ...(e.warning ? { warning: e.warning } : {}) };
  }

  /**
   * After the node's files were written or found identical: their signatures, now — as the
   * writer just recorded them (`known`, boot-files.ts), else from an lstat (grub2's links).
   */
  note(node: string, key: string, files: readonly string[], warning?: string, known?: (path: string) => string | undefined): void {
    const sigs: [string, string][] = [];
    for (const p of files) {
      let sig = known?.(p);
      if (sig === undefined) {
        const st = lstatSync(p, { throwIfNoEntry: false });
        if (!st) {
          this.forget(node);
          return;
        }
        sig = signature(st);
      }
      sigs.push([p, sig]);
    }
    this.nodes[node] = { key, files: sigs, ...(warning ? { warning } : {}) };
    this.dirty = true;
  }

  forget(node: string): void {
    if (!(node in this.nodes)) return;
    delete this.nodes[node];
    this.dirty = true;
  }

  /** Not fsynced: a lost record only means the next run renders every node. */
  save(): void {
    if (!this.dirty) return;
    writeFileAtomic(this.file, JSON.stringify(this.nodes), 0o600, { fsync: false });
    this.dirty = false;
  }
}
