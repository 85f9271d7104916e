import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { literalExclude, mergedSource, parseProbe, rsync } from "../../../src/provmethods/sysclone/update";

/**
 * clone --update must never reach into filesystems that are not the node's own disk: rsync
 * --delete would empty an NFS /home or a parallel filesystem, as the image has nothing there.
 */
const dir = mkdtempSync(join(tmpdir(), "xcimg-update-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("clone --update: the node's probe", () => {
  test("findmnt output: disk filesystems stay in, everything else (nfs, tmpfs, lustre) is left alone, odd names decoded", () => {
    const out = [
      "clone=yes",
      "/ /dev/vda4 ext4",
      "/boot/efi /dev/vda2 vfat",
      "/proc proc proc",
      "/home nfs01:/export/home nfs4",
      "/scratch\\x20space 10.0.0.5@tcp:/lustre lustre",
      "/data /dev/mapper/vg-data xfs",
      "/run tmpfs tmpfs",
    ].join("\n");
    expect(parseProbe(out)).toEqual({ isClone: true, foreignMounts: ["/proc", "/home", "/scratch space", "/run"] });
  });

  test("/proc/mounts fallback (octal escapes); no clone marker", () => {
    expect(parseProbe("/ /dev/sda2 xfs\n/gpfs/fs1 fs1 gpfs\n/odd\\040dir tmpfs tmpfs\n")).toEqual({ isClone: false, foreignMounts: ["/gpfs/fs1", "/odd dir"] });
  });

  test("rsync --delete with the probe's excludes keeps what lies under foreign mounts, even with wildcard characters in the name", async () => {
    const src = join(dir, "image");
    const dst = join(dir, "node");
    for (const d of ["usr/bin", "home", "scr[1]*"]) mkdirSync(join(src, d), { recursive: true });
    writeFileSync(join(src, "usr/bin/tool"), "new\n");
    for (const d of ["usr/bin", "home/alice", "scr[1]*/job", "scr1/job", "old"]) mkdirSync(join(dst, d), { recursive: true });
    for (const f of ["home/alice/thesis.tex", "scr[1]*/job/out", "scr1/job/out", "old/file"]) writeFileSync(join(dst, f), "data\n");
    const changes = await rsync({ env: {} }, src, dst, ["ssh"], false, ["/home", "/scr[1]*"]);
    expect(existsSync(join(dst, "usr/bin/tool"))).toBe(true);
    expect(existsSync(join(dst, "home/alice/thesis.tex"))).toBe(true);
    expect(existsSync(join(dst, "scr[1]*/job/out"))).toBe(true);
    // not a mount point: the image has no scr1 and no old, so they go
    expect(existsSync(join(dst, "scr1"))).toBe(false);
    expect(existsSync(join(dst, "old"))).toBe(false);
    expect(changes.some((c) => c.includes("deleting") && c.includes("old/file"))).toBe(true);
    expect(literalExclude("/scr[1]*")).toBe("/scr\\[1]\\*/***");
  });
});

describe("clone --update: the image with the node's overrides", () => {
  test("override files replace the image's without writing the image; directories keep the image's owner and mode", async () => {
    const tree = join(dir, "merge-image");
    const ov = join(dir, "merge-override");
    mkdirSync(join(tree, "etc"), { recursive: true });
    writeFileSync(join(tree, "etc/motd"), "image\n");
    writeFileSync(join(tree, "etc/keep"), "image\n");
    mkdirSync(join(ov, "etc"), { recursive: true });
    writeFileSync(join(ov, "etc/motd"), "override\n");
    writeFileSync(join(ov, "etc/site.conf"), "site\n");
    chmodSync(ov, 0o700); // an admin's private working copy: must not become the mode of /
    chmodSync(join(ov, "etc"), 0o750);
    const out = await mergedSource(tree, [ov], join(dir, "merge-out"));
    expect(readFileSync(join(out, "etc/motd"), "utf8")).toBe("override\n");
    expect(readFileSync(join(out, "etc/site.conf"), "utf8")).toBe("site\n");
    expect(readFileSync(join(tree, "etc/motd"), "utf8")).toBe("image\n");
    expect(statSync(join(out, "etc/keep")).ino).toBe(statSync(join(tree, "etc/keep")).ino);
    expect(statSync(out).mode & 0o7777).toBe(statSync(tree).mode & 0o7777);
    expect(statSync(join(out, "etc")).mode & 0o7777).toBe(statSync(join(tree, "etc")).mode & 0o7777);
  });

  test("a closed image tree (root:root 0700 on the MN): the rsync source's top is the node's recorded /, in a 0700 directory", async () => {
    const tree = join(dir, "closed", "img");
    mkdirSync(join(tree, "etc"), { recursive: true });
    writeFileSync(join(tree, "etc/motd"), "image\n");
    chmodSync(tree, 0o700);
    writeFileSync(join(dir, "closed", ".img.node-mode"), "mode=0755 uid=0 gid=0\n");
    const out = await mergedSource(tree, [], join(dir, "closed-work", "src"));
    expect(statSync(out).mode & 0o7777).toBe(0o755); // rsync -a gives the node's / this mode
    expect(statSync(join(dir, "closed-work")).mode & 0o7777).toBe(0o700); // the copy links the image's setuid files
    expect(readFileSync(join(out, "etc/motd"), "utf8")).toBe("image\n");
    expect(statSync(tree).mode & 0o7777).toBe(0o700);
  });
});

describe("clone --update: --no-delete, protected paths, deletions listed first", () => {
  const mk = (root: string, files: string[]) => {
    for (const f of files) {
      mkdirSync(join(root, f, ".."), { recursive: true });
      writeFileSync(join(root, f), `${f}\n`);
    }
  };

  test("protected paths (/var/log, /home, /tmp, /var/tmp and the --exclude-from list) are neither updated nor deleted", async () => {
    const { PROTECTED_PATHS, readProtectedPaths } = await import("../../../src/provmethods/sysclone/update");
    const src = join(dir, "p-image");
    const dst = join(dir, "p-node");
    mk(src, ["usr/bin/tool", "home/skel/.bashrc", "opt/site/data", "var/log/image.log"]);
    mk(dst, ["usr/bin/old", "home/alice/thesis.tex", "opt/site/data", "opt/site/results", "var/log/syslog", "tmp/job.lock"]);
    writeFileSync(join(dst, "opt/site/data"), "node's own\n");
    const list = join(dir, "keep.list");
    writeFileSync(list, "# site data\n/opt/site\n\n");
    const protect = [...PROTECTED_PATHS, ...readProtectedPaths(list)];
    const changes = await rsync({ env: {} }, src, dst, ["ssh"], false, [], { protect });
    for (const f of ["home/alice/thesis.tex", "opt/site/results", "var/log/syslog", "tmp/job.lock"]) expect(existsSync(join(dst, f))).toBe(true);
    expect(readFileSync(join(dst, "opt/site/data"), "utf8")).toBe("node's own\n");
    expect(existsSync(join(dst, "home/skel"))).toBe(false); // not even added under /home
    expect(existsSync(join(dst, "var/log/image.log"))).toBe(false);
    expect(existsSync(join(dst, "usr/bin/old"))).toBe(false); // not protected: deleted
    expect(existsSync(join(dst, "usr/bin/tool"))).toBe(true);
    expect(changes.some((c) => c.startsWith("*deleting") && c.includes("usr/bin/old"))).toBe(true);
  });

  test("--no-delete keeps what the image no longer has; a dry run lists deletions first", async () => {
    const { deletionsFirst } = await import("../../../src/provmethods/sysclone/update");
    const src = join(dir, "nd-image");
    const dst = join(dir, "nd-node");
    mk(src, ["a/new"]);
    mk(dst, ["a/gone", "z/gone"]);
    const dry = deletionsFirst(await rsync({ env: {} }, src, dst, ["ssh"], true));
    expect(dry.slice(0, 2).every((c) => c.startsWith("*deleting"))).toBe(true);
    expect(dry.some((c) => !c.startsWith("*deleting") && c.includes("a/new"))).toBe(true);
    expect(dry.findIndex((c) => c.includes("a/new"))).toBeGreaterThan(dry.findLastIndex((c) => c.startsWith("*deleting")));
    expect(existsSync(join(dst, "a/gone"))).toBe(true); // dry run: nothing changed
    const changes = await rsync({ env: {} }, src, dst, ["ssh"], false, [], { noDelete: true });
    expect(changes.some((c) => c.startsWith("*deleting"))).toBe(false);
    expect(existsSync(join(dst, "a/gone"))).toBe(true);
    expect(existsSync(join(dst, "z/gone"))).toBe(true);
    expect(existsSync(join(dst, "a/new"))).toBe(true);
  });

  test("an --exclude-from line that is not an absolute path is refused with its line", async () => {
    const { readProtectedPaths } = await import("../../../src/provmethods/sysclone/update");
    const list = join(dir, "bad.list");
    writeFileSync(list, "/ok\nrelative/path\n");
    expect(() => readProtectedPaths(list)).toThrow(`${list}:2: 'relative/path' is not an absolute path`);
  });
});
