import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileDigestCache } from "../../../src/core/provenance/digest-cache";
import { digestTree } from "../../../src/core/provenance/tree-digest";
import { makeRootTree, sh } from "../../helpers/bundle-sites";

/** The root-tree digest covers what a node runs and nothing that changes with every copy. */
let dir: string;
let tree: string;
let copy: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "xcimg-treedigest-"));
  tree = join(dir, "a");
  makeRootTree(tree, { xattrs: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fresh(): string {
  rmSync(join(dir, "b"), { recursive: true, force: true });
  sh(["cp", "-a", tree, join(dir, "b")]);
  copy = join(dir, "b");
  return copy;
}

describe("digestTree", () => {
  test("a copy (cp -a) digests the same, and so does one with other mtimes", () => {
    const a = digestTree(tree);
    expect(a.entries).toBeGreaterThan(15);
    expect(a.xattrs).toBe(true); // getfattr is part of scripts/setup-debian.sh
    expect(digestTree(fresh())).toEqual(a);
    utimesSync(join(copy, "etc/hostname"), 1, 1);
    expect(digestTree(copy)).toEqual(a);
  });

  test("every change a node would see changes it", () => {
    const a = digestTree(tree).sha256;
    const changes: [string, (d: string) => void][] = [
      ["content byte", (d) => appendFileSync(join(d, "usr/bin/tool"), "x")],
      ["mode", (d) => chmodSync(join(d, "usr/bin/su"), 0o755)],
      ["owner", (d) => chownSync(join(d, "etc/hostname"), 1, 0)],
      ["group", (d) => chownSync(join(d, "etc/hostname"), 0, 1)],
      [
        "symlink target",
        (d) => {
          unlinkSync(join(d, "usr/bin/tool-rel"));
          symlinkSync("su", join(d, "usr/bin/tool-rel"));
        },
      ],
      ["added file", (d) => writeFileSync(join(d, "etc/new"), "")],
      ["removed file", (d) => unlinkSync(join(d, "home/user/notes.txt"))],
      [
        "device number",
        (d) => {
          unlinkSync(join(d, "dev/console"));
          sh(["mknod", "-m", "600", join(d, "dev/console"), "c", "5", "2"]);
        },
      ],
      ["file capability added", (d) => sh(["setcap", "cap_sys_admin+ep", join(d, "usr/bin/su")])],
      ["xattr value changed", (d) => sh(["setfattr", "-n", "user.note", "-v", "other", join(d, "etc/hostname")])],
      ["ACL entry added", (d) => sh(["setfacl", "-m", "u:99:rw", join(d, "etc/shadow")])],
      [
        "file replaced by a symlink",
        (d) => {
          unlinkSync(join(d, "etc/hostname"));
          symlinkSync("/etc/hostname", join(d, "etc/hostname"));
        },
      ],
    ];
    const seen = new Set([a]);
    for (const [what, change] of changes) {
      change(fresh());
      const d = digestTree(copy).sha256;
      expect({ what, same: seen.has(d) }).toEqual({ what, same: false });
      seen.add(d);
    }
  });

  test("the cache spares unchanged files and misses a file rewritten in place with its mtime put back", async () => {
    const t = fresh();
    const cacheFile = join(dir, "cache.json");
    rmSync(cacheFile, { force: true });
    await Bun.sleep(100); // older than the racy window (next test)
    const first = new FileDigestCache(cacheFile);
    const a = digestTree(t, { cache: first });
    first.save();
    expect(first.hits).toBe(0);
    const second = new FileDigestCache(cacheFile);
    expect(digestTree(t, { cache: second })).toEqual(a);
    expect(second.hits).toBeGreaterThan(5);
    second.save();
    // same size, same mtime, different content: only ctime tells, and it does
    const f = join(t, "usr/bin/tool");
    const st = statSync(f);
    const data = readFileSync(f);
    data[10] = (data[10] as number) ^ 1;
    await Bun.sleep(10);
    writeFileSync(f, data);
    utimesSync(f, st.atime, st.mtime);
    const third = new FileDigestCache(cacheFile);
    const b = digestTree(t, { cache: third });
    expect(b.sha256).not.toBe(a.sha256);
    expect(b).toEqual(digestTree(t));
  });

  test("a file changed just before the walk is hashed but not cached (its ctime tick may not be over)", async () => {
    const t = fresh();
    await Bun.sleep(100);
    writeFileSync(join(t, "usr/bin/tool"), "just written");
    const cacheFile = join(dir, "racy.json");
    rmSync(cacheFile, { force: true });
    const first = new FileDigestCache(cacheFile);
    digestTree(t, { cache: first });
    first.save();
    const cached = JSON.parse(readFileSync(cacheFile, "utf8")).entries as Record<string, unknown>;
    expect(cached["usr/bin/tool"]).toBeUndefined();
    expect(Object.keys(cached).length).toBeGreaterThan(5);
  });

  test("changedAfter names the entries (and the top) whose ctime is after a time", async () => {
    const t = fresh();
    await Bun.sleep(20);
    const since = BigInt(Date.now()) * 1_000_000n;
    await Bun.sleep(20);
    writeFileSync(join(t, "usr/bin/tool"), "edited");
    const found: string[] = [];
    digestTree(t, { changedAfter: { ns: since, found: (rel) => found.push(rel) } });
    expect(found).toEqual(["usr/bin/tool", "usr/bin/tool-hard"]); // a hard link is the same inode
    rmSync(join(t, "usr/bin/tool"));
    const again: string[] = [];
    digestTree(t, { changedAfter: { ns: since, found: (rel) => again.push(rel) } });
    expect(again).toEqual(["usr/bin", "usr/bin/tool-hard"]); // a removal shows on its directory (and on the other link)
  });
});
