import { readFileSync, rmSync } from "node:fs";
import { writeFileAtomic } from "../fs/atomic";
import type { DigestCache } from "./tree-digest";

/**
 * The tree-digest cache of one image, a JSON file next to its manifest
 * (xcimg-manifest.json.cache): path → [stat key, content digest]. Only entries seen by the
 * last walk are kept, so it never grows beyond the tree. A missing or unreadable cache only
 * costs a full hash.
 */
const FORMAT = "xcimg-digest-cache/1";

export class FileDigestCache implements DigestCache {
  private readonly old = new Map<string, [string, string]>();
  private readonly next = new Map<string, [string, string]>();
  hits = 0;

  constructor(private readonly path: string) {
    try {
      const j = JSON.parse(readFileSync(path, "latin1")) as { format?: string; entries?: Record<string, [string, string]> };
      if (j.format === FORMAT && j.entries) for (const [k, v] of Object.entries(j.entries)) this.old.set(k, v);
    } catch {
      // no cache yet, or a damaged one: hash everything
    }
  }

  get(rel: string, key: string): string | undefined {
    const e = this.old.get(rel);
    if (e && e[0] === key) {
      this.hits++;
      this.next.set(rel, e);
      return e[1];
    }
    return undefined;
  }

  put(rel: string, key: string, digest: string): void {
    this.next.set(rel, [key, digest]);
  }

  save(): void {
    try {
      writeFileAtomic(this.path, JSON.stringify({ format: FORMAT, entries: Object.fromEntries(this.next) }), 0o600);
    } catch {
      rmSync(this.path, { force: true });
    }
  }
}
