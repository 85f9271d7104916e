import { mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fsError } from "../errors";
import { tempNameFor } from "../fs/atomic";
import { MAC_DIR, macKey } from "./boot-rules";
import type { HostEntry } from "./model";

/**
 * <tftpdir>/xcat/xnba/mac/<52-54-00-12-34-01>[.uefi] → ../nodes/<node>[.uefi]: the names the
 * xcat/xnba/bymac script chains. Relative symlinks to what `xcimg boot` writes, so a boot
 * change (new image, --offline) needs nothing here, and nginx, the static server and TFTP all
 * follow them. A node without a boot file has a dangling link: iPXE's chain fails and exits.
 */
export class MacLinks {
  readonly dir: string;
  private byNode: Map<string, Set<string>> | null = null;
  /** link name → node, to move a MAC between nodes without scanning every node. */
  private owner = new Map<string, string>();

  constructor(tftpdir: string) {
    this.dir = join(tftpdir, MAC_DIR);
  }

  /** node → its link names, from the links themselves. */
  private index(): Map<string, Set<string>> {
    if (this.byNode) return this.byNode;
    const m = new Map<string, Set<string>>();
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch {
      // none yet
    }
    for (const name of names) {
      let target: string;
      try {
        target = readlinkSync(join(this.dir, name));
      } catch {
        continue;
      }
      const node = target.replace(/^\.\.\/nodes\//, "").replace(/\.uefi$/, "");
      const set = m.get(node) ?? new Set<string>();
      set.add(name);
      m.set(node, set);
      this.owner.set(name, node);
    }
    this.byNode = m;
    return m;
  }

  /** Make the node's links exactly those of its MACs (old MACs' links go). */
  set(node: string, entries: readonly HostEntry[]): void {
    const want = new Map<string, string>();
    for (const e of entries) {
      want.set(macKey(e.mac), `../nodes/${node}`);
      want.set(`${macKey(e.mac)}.uefi`, `../nodes/${node}.uefi`);
    }
    const have = this.index().get(node) ?? new Set<string>();
    for (const name of have) if (!want.has(name)) rmSync(join(this.dir, name), { force: true });
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    for (const [name, target] of want) {
      const p = join(this.dir, name);
      try {
        if (readlinkSync(p) === target) continue;
      } catch {
        // absent
      }
      const t = tempNameFor(p);
      try {
        symlinkSync(target, t);
        renameSync(t, p);
      } catch (e) {
        rmSync(t, { force: true });
        throw fsError(e, `cannot link ${p}`);
      }
    }
    // a MAC that moved from another node now points here: drop it from that node's set
    for (const name of want.keys()) {
      const prev = this.owner.get(name);
      if (prev !== undefined && prev !== node) this.index().get(prev)?.delete(name);
      this.owner.set(name, node);
    }
    this.index().set(node, new Set(want.keys()));
  }

  remove(node: string): string[] {
    const names = [...(this.index().get(node) ?? [])];
    for (const n of names) {
      rmSync(join(this.dir, n), { force: true });
      this.owner.delete(n);
    }
    this.index().delete(node);
    return names.map((n) => join(this.dir, n));
  }
}
