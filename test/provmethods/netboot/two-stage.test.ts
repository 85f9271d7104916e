import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { defineNetbootImage } from "../../helpers/images";
import { readNewc } from "../../helpers/newc";
import { Sandbox } from "../../helpers/sandbox";

/**
 * `xcimg pack -m squashfs|tar` then `xcimg boot` without a VM (test/e2e/netboot-qemu.test.ts
 * boots them): the command line and initrds of each method, the first stage published instead
 * of the image, the staged overlay, pack keeping the cpio archive while the new one cannot
 * boot, and boot refusing, with nothing changed, an image whose kernel lacks squashfs.
 */
const IMG = "deb12-x86_64-netboot-compute";
const KVER = "6.1.0-test-amd64";
const MODS = `lib/modules/${KVER}`;
let sb: Sandbox;
let dir: string;
let tree: string;

function put(rel: string, data: string | Buffer, mode = 0o644): void {
  const f = join(tree, rel);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, data, { mode });
}

/** modules.dep of the image, with or without what a squashfs root needs. */
function modules(squashfs: boolean): void {
  const mods = ["drivers/net/virtio_net.ko", ...(squashfs ? ["fs/squashfs/squashfs.ko", "fs/overlayfs/overlay.ko", "drivers/block/loop.ko"] : [])];
  for (const k of mods) put(`${MODS}/kernel/${k}`, `module ${k}\n`);
  put(`${MODS}/modules.dep`, mods.map((k) => `kernel/${k}:\n`).join(""));
}

async function ok(...a: string[]) {
  const r = await sb.run(...a);
  if (r.code !== 0) throw new Error(`xcimg ${a.join(" ")}: ${r.stderr}`);
  return r;
}

const tftp = (rel: string) => join(sb.tftpdir, rel);
const script = () => readFileSync(tftp("xcat/xnba/nodes/cn01"), "utf8");
const imgargs = () => /imgargs kernel (.*) BOOTIF=/.exec(script())?.[1];
const published = () => readdirSync(tftp(`xcat/osimage/${IMG}`)).sort();
const url = (f: string) =>
  `imgurl=http://\${next-server}:80/install/netboot/deb12/x86_64/compute/${f} XCAT=\${next-server}:3001 NODE=cn01 FC=0 XCATHTTPPORT=80 `;

beforeAll(async () => {
  sb = new Sandbox("netboot-two-stage");
  ({ dir, rootimg: tree } = await defineNetbootImage(sb, IMG, [], "deb12"));
  put(`boot/vmlinuz-${KVER}`, "kernel\n");
  modules(false);
  put(`${MODS}/modules.builtin`, "kernel/net/packet/af_packet.ko\n");
  put("bin/busybox", readFileSync("/bin/busybox"), 0o755);
  put("sbin/init", "#!/bin/sh\n", 0o755);
  put("etc/hostname", "golden\n");
  await ok("node", "set", "cn01", "groups=compute,all", "arch=x86_64", "netboot=xnba", "mac=52:54:00:00:00:01");
});
afterAll(() => sb.cleanup());

describe("netboot images packed as squashfs and tar", () => {
  test("cpio: single stage, the image and initrd-stateless.gz handed to the kernel", async () => {
    await ok("pack", IMG);
    await ok("boot", "cn01", "-o", IMG);
    expect(imgargs()).toBe(url("rootimg.cpio.gz"));
    expect(script()).toContain(`xcat/osimage/${IMG}/rootimg.cpio.gz`);
    expect(script()).toContain(`xcat/osimage/${IMG}/initrd-stateless.gz`);
    expect(published()).toEqual(["initrd-stateless.gz", "kernel", "rootimg.cpio.gz"]);
  });

  test("pack -m squashfs while the image's kernel lacks squashfs: the cpio archive is kept and still booted, with the reason", async () => {
    const r = await ok("pack", IMG, "-m", "squashfs");
    expect(r.stderr).toContain(
      `kept rootimg.cpio.gz: nodes cannot boot rootimg.sfs yet (rootimg.sfs cannot be booted: the image's kernel ${KVER} lacks the squashfs, overlay, loop modules`,
    );
    expect(existsSync(join(dir, "rootimg.cpio.gz"))).toBe(true);
    expect(existsSync(join(dir, "rootimg.sfs"))).toBe(true);
    await ok("boot", "cn01", "-o", IMG);
    expect(imgargs()).toBe(url("rootimg.cpio.gz"));
  });

  test("with the modules in the image: the squashfs archive replaces the cpio one, and boot publishes the first stage and imgurl= of rootimg.sfs", async () => {
    modules(true);
    const r = await ok("pack", IMG, "-m", "squashfs");
    expect(r.stderr).not.toContain("kept");
    expect(existsSync(join(dir, "rootimg.cpio.gz"))).toBe(false);
    expect(r.stderr).toContain(`Refreshed the boot files of ${IMG}`);
    await ok("boot", "cn01", "-o", IMG);
    expect(imgargs()).toBe(url("rootimg.sfs"));
    expect(script()).toContain(`xcat/osimage/${IMG}/initrd-fetch.gz`);
    expect(script()).not.toContain("rootimg.sfs\n");
    // the node fetches the image itself: only the kernel and the first stage are published
    expect(published()).toEqual(["initrd-fetch.gz", "kernel"]);
    // the uncompressed overlay after it starts 4-byte aligned (core/boot/initrd-align.ts, UEFI)
    expect(readFileSync(tftp(`xcat/osimage/${IMG}/initrd-fetch.gz`)).length % 4).toBe(0);
    const row = (await ok("node", "show", "cn01", "--json")).stdout;
    expect(row).toContain(`xcat/osimage/${IMG}/initrd-fetch.gz,xcat/overlay/cn01.cpio`);
    // the overlay is staged: the first stage puts its files on top of the root it assembled
    const ov = new Map(readNewc(readFileSync(tftp("xcat/overlay/cn01.cpio"))).map((e) => [e.name.toString(), e]));
    expect(ov.get(".xcimg/overlay.list")?.data.toString()).toContain("/etc/hostname\n");
    expect(ov.get(".xcimg/overlay/etc/hostname")?.data.toString()).toBe("cn01\n");
    expect(ov.has("etc/hostname")).toBe(false);
  });

  test("boot refuses a squashfs image whose kernel lost its squashfs module, naming it, and leaves the node's files as they were", async () => {
    const before = script();
    const overlay = readFileSync(tftp("xcat/overlay/cn01.cpio"));
    put(`${MODS}/modules.dep`, "kernel/drivers/net/virtio_net.ko:\nkernel/fs/overlayfs/overlay.ko:\nkernel/drivers/block/loop.ko:\n");
    const r = await sb.run("boot", "cn01", "-o", IMG);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`rootimg.sfs cannot be booted: the image's kernel ${KVER} lacks the squashfs module a squashfs root needs`);
    expect(script()).toBe(before);
    expect(readFileSync(tftp("xcat/overlay/cn01.cpio"))).toEqual(overlay);
    modules(true);
  });

  test("pack -m tar -c zstd: replaces the squashfs archive; imgurl= names rootimg.tar.zst", async () => {
    await ok("pack", IMG, "-m", "tar", "-c", "zstd");
    expect(existsSync(join(dir, "rootimg.sfs"))).toBe(false);
    await ok("boot", "cn01", "-o", IMG);
    expect(imgargs()).toBe(url("rootimg.tar.zst"));
    expect(published()).toEqual(["initrd-fetch.gz", "kernel"]);
  });

  test("back to cpio: the first stage is unpublished, single stage again", async () => {
    await ok("pack", IMG);
    expect(existsSync(join(dir, "rootimg.tar.zst"))).toBe(false);
    await ok("boot", "cn01", "-o", IMG);
    expect(imgargs()).toBe(url("rootimg.cpio.gz"));
    expect(published()).toEqual(["initrd-stateless.gz", "kernel", "rootimg.cpio.gz"]);
  });
});
