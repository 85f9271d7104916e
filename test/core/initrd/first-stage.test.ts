import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { dynInfo } from "../../../src/core/initrd/carried-tool";
import { fetchedArchive, firstStageInitrd, firstStageProblem } from "../../../src/core/initrd/first-stage";
import { readNewc } from "../../helpers/newc";

/**
 * initrd-fetch.gz, the first stage of squashfs and tar images, built from a small image tree
 * (fake modules with a real modules.dep, the host's static busybox): which modules it takes
 * from the image, the GNU tar it carries with its libraries, and what it says when the image's
 * kernel lacks a module a squashfs root needs. test/e2e/netboot-qemu.test.ts boots it.
 */
const KVER = "6.1.0-test-amd64";
let root: string;
let tree: string;

function put(rel: string, data: string | Buffer, mode = 0o644): void {
  const f = join(tree, rel);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, data, { mode });
}

function makeTree(dir: string, squashfsModules: boolean): void {
  tree = dir;
  const m = `lib/modules/${KVER}`;
  const mods = ["drivers/net/virtio_net.ko", "drivers/virtio/virtio_pci.ko", "drivers/gpu/drm/drm.ko"];
  if (squashfsModules) mods.push("fs/squashfs/squashfs.ko", "fs/overlayfs/overlay.ko", "lib/zstd/zstd_decompress.ko");
  for (const k of mods) put(`${m}/kernel/${k}`, `module ${k}\n`);
  const dep = mods.map((k) => `kernel/${k}:${k.startsWith("fs/squashfs") ? " kernel/lib/zstd/zstd_decompress.ko" : ""}`);
  put(`${m}/modules.dep`, `${dep.join("\n")}\n`);
  put(`${m}/modules.alias`, "alias virtio:d00000001v* virtio_net\n");
  // loop built in, as some kernels have it: found in modules.builtin, nothing to carry
  put(`${m}/modules.builtin`, "kernel/net/packet/af_packet.ko\nkernel/drivers/block/loop.ko\n");
  put("bin/busybox", readFileSync("/bin/busybox"), 0o755);
  put("sbin/init", "#!/bin/sh\n", 0o755);
}

const files = (buf: Buffer) => new Map(readNewc(gunzipSync(buf)).map((e) => [e.name.toString(), e]));

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "xcimg-first-stage-"));
  makeTree(join(root, "full"), true);
  makeTree(join(root, "bare"), false);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("first-stage initrd (initrd-fetch.gz)", () => {
  test("archive names: squashfs and tar images are fetched, cpio ones are not", () => {
    expect(fetchedArchive("/x/rootimg.sfs")).toEqual({ method: "squashfs" });
    expect(fetchedArchive("rootimg.tar.zst")).toEqual({ method: "tar", compression: "zst" });
    expect(fetchedArchive("rootimg.cpio.gz")).toBeNull();
    expect(fetchedArchive("rootimg.tar.bz2")).toBeNull();
  });

  test("squashfs: /init, busybox, the NIC modules and squashfs/overlay with their dependencies from the image; built-in loop is not carried", () => {
    const full = join(root, "full");
    const stage = firstStageInitrd(full, KVER, "x86_64", "rootimg.sfs");
    const f = files(stage.data);
    const mods = `.xcimg/lib/modules/${KVER}`;
    expect(f.get("init")?.data.toString()).toContain('case "$IMG" in');
    expect(f.get("init")?.data.toString()).toContain("mount -t overlay -o lowerdir=");
    expect(f.get(".xcimg/bin/busybox")?.data).toEqual(readFileSync("/bin/busybox"));
    expect(f.get(".xcimg/udhcpc.script")?.mode).toBe(0o100755);
    for (const k of [
      "drivers/net/virtio_net.ko",
      "drivers/virtio/virtio_pci.ko",
      "fs/squashfs/squashfs.ko",
      "fs/overlayfs/overlay.ko",
      "lib/zstd/zstd_decompress.ko",
    ]) {
      expect(f.has(`${mods}/kernel/${k}`)).toBe(true);
    }
    expect(f.has(`${mods}/kernel/drivers/gpu/drm/drm.ko`)).toBe(false);
    expect(f.get(`${mods}/modules.dep`)?.data.toString()).toContain("kernel/fs/squashfs/squashfs.ko: kernel/lib/zstd/zstd_decompress.ko");
    expect(f.get(`${mods}/modules.builtin`)?.data.toString()).toContain("kernel/drivers/block/loop.ko");
    expect([...f.keys()].some((n) => n.startsWith(".xcimg/tools"))).toBe(false);
    expect(stage.modules).toBe(5);
    expect(firstStageProblem(full, KVER, "x86_64", "rootimg.sfs")).toBeNull();
  });

  test("squashfs without the squashfs and overlay modules: refused, naming them", () => {
    const bare = join(root, "bare");
    expect(() => firstStageInitrd(bare, KVER, "x86_64", "rootimg.sfs")).toThrow(
      `rootimg.sfs cannot be booted: the image's kernel ${KVER} lacks the squashfs, overlay modules a squashfs root needs (not in ${bare}/lib/modules/${KVER}/modules.dep or modules.builtin)`,
    );
    expect(firstStageProblem(bare, KVER, "x86_64", "rootimg.sfs")).toContain("lacks the squashfs, overlay modules");
    // a tar image needs no filesystem module: its root is a tmpfs
    expect(firstStageProblem(bare, KVER, "x86_64", "rootimg.tar.gz")).toBeNull();
  });

  test("tar: GNU tar (the management node's here: the image has none) with its loader and every library it needs, and the flags that keep file capabilities", () => {
    const stage = firstStageInitrd(join(root, "bare"), KVER, "x86_64", "rootimg.tar.xz");
    const f = files(stage.data);
    expect(f.get(".xcimg/tools/tar")?.data).toEqual(readFileSync("/usr/bin/tar"));
    const run = f.get(".xcimg/tools/tar.run")?.data.toString().trim() ?? "";
    const interp = dynInfo("/usr/bin/tar")?.interp ?? "";
    expect(run).toBe(`/.xcimg/tools/${interp.slice(interp.lastIndexOf("/") + 1)} --library-path /.xcimg/tools /.xcimg/tools/tar`);
    // what the dynamic loader of this management node resolves for tar, every one carried
    const ldd = execFileSync("ldd", ["/usr/bin/tar"]).toString();
    for (const lib of ldd.matchAll(/^\s*(\S+\.so[^\s]*) => /gm)) expect(f.has(`.xcimg/tools/${lib[1]}`)).toBe(true);
    expect(f.get(".xcimg/tools/tar.flags")?.data.toString()).toContain("--xattrs --xattrs-include=*");
    expect(f.has(".xcimg/tools/zstd")).toBe(false);
    expect(stage.tools).toEqual(["tar from the management node (/usr/bin/tar)"]);
  });

  test("tar.zst: zstd comes along", () => {
    const f = files(firstStageInitrd(join(root, "bare"), KVER, "x86_64", "rootimg.tar.zst").data);
    expect(f.has(".xcimg/tools/zstd")).toBe(true);
    expect(f.get(".xcimg/tools/zstd.run")?.data.toString()).toContain("/.xcimg/tools/zstd");
  });

  test("dynInfo reads PT_INTERP and DT_NEEDED; a static binary has neither", () => {
    const tar = dynInfo("/usr/bin/tar");
    expect(tar?.interp).toMatch(/^\/lib.*\/ld-linux.*\.so\.\d$/);
    expect(tar?.needed).toContain("libc.so.6");
    expect(dynInfo("/bin/busybox")).toEqual({ interp: null, needed: [] });
    expect(dynInfo(join(root, "full/sbin/init"))).toBeNull();
  });
});
