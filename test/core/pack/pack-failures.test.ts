import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execSync, spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { defineNetbootImage, fakeKernels } from "../../helpers/images";
import { readNewc } from "../../helpers/newc";
import { BIN, Sandbox } from "../../helpers/sandbox";
import { makeImageRoot } from "../../helpers/statelite-fixture";

/**
 * pack's failure handling with the compiled binary: a full disk is an I/O failure (exit 74)
 * with a clear message and the previous archive kept, for every archive method; a pack killed
 * with SIGKILL leaves temp files that the next pack removes.
 */
const IMG = "test1-x86_64-netboot-compute";
const temps = (dir: string) => readdirSync(dir).filter((n) => /xcimg-tmp|xcimg-sfs/.test(n));
const random = (bytes: number) => randomFillSync(Buffer.alloc(bytes));

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
});

describe("pack on a full disk", () => {
  let sb: Sandbox;
  let dir: string;
  let rootimg: string;
  beforeAll(async () => {
    sb = new Sandbox("pack-nospc");
    // installdir on a 2 MiB tmpfs: the tree fits, a second copy of it as an archive does not
    execSync(`mount -t tmpfs -o size=2m tmpfs '${sb.installdir}'`);
    ({ dir, rootimg } = await defineNetbootImage(sb, IMG));
    fakeKernels(rootimg);
  });
  afterAll(() => {
    spawnSync("umount", [sb.installdir]);
    sb.cleanup();
  });

  test("exit 74, 'no space left on device' and what to do; the previous archive untouched; no temp files", async () => {
    const first = await sb.bin(["pack", IMG]);
    expect(first.code).toBe(0);
    const out = join(dir, "rootimg.cpio.gz");
    const before = readFileSync(out);
    const ino = statSync(out).ino;
    writeFileSync(join(rootimg, "big"), random(1200 * 1024)); // incompressible
    for (const args of [[], ["-m", "tar"], ["-c", "zstd"], ["-c", "xz"], ["-m", "squashfs"]]) {
      const r = await sb.bin(["pack", IMG, ...args]);
      const what = `pack ${args.join(" ")}`;
      expect([what, r.code]).toEqual([what, 74]);
      expect(r.stderr).toMatch(/Error: .*(no space left on device|No space left on device)/);
      expect(r.stderr).toContain(`hint: free space on the filesystem holding ${dir}`);
      expect(r.stderr).toContain("the previous packed image is untouched");
      expect(r.stderr).not.toContain("internal error");
      expect(statSync(out).ino).toBe(ino);
      expect(readFileSync(out).equals(before)).toBe(true);
      expect(temps(dir)).toEqual([]);
    }
  });
});

describe("pack killed with SIGKILL", () => {
  let sb: Sandbox;
  let dir: string;
  let rootimg: string;
  beforeAll(async () => {
    sb = new Sandbox("pack-kill");
    ({ dir, rootimg } = await defineNetbootImage(sb, IMG));
    fakeKernels(rootimg);
    // big enough that the archive is still being written when we kill it
    for (let i = 0; i < 4; i++) writeFileSync(join(rootimg, `blob${i}`), random(32 << 20));
  });
  afterAll(() => sb.cleanup());

  test("the next pack removes what the killed one left, and writes a complete archive", async () => {
    const proc = Bun.spawn([BIN, "pack", IMG], { env: { ...process.env, XCIMG_CONFIG: sb.config }, stdout: "ignore", stderr: "ignore" });
    let left: string[] = [];
    for (let i = 0; i < 600 && left.length === 0; i++) {
      await Bun.sleep(10);
      left = temps(dir).filter((n) => n.startsWith(`.rootimg.cpio.gz.xcimg-tmp.${proc.pid}.`));
    }
    expect(left.length).toBe(1);
    await Bun.sleep(100); // let it write a part of the archive
    proc.kill("SIGKILL");
    expect(await proc.exited).not.toBe(0);
    expect(temps(dir)).toEqual(left); // nothing removes it: no finally ran
    expect(existsSync(join(dir, "rootimg.cpio.gz"))).toBe(false);

    const r = await sb.bin(["pack", IMG]);
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`removed what an interrupted xcimg left (its process is gone): ${join(dir, left[0] as string)}`);
    expect(temps(dir)).toEqual([]);
    const entries = readNewc(gunzipSync(readFileSync(join(dir, "rootimg.cpio.gz"))));
    const blob = entries.find((e) => e.name.toString() === "blob3");
    expect(blob?.data.equals(readFileSync(join(rootimg, "blob3")))).toBe(true);
  });

  test("a temp file of a live process is left alone", async () => {
    // a process that is alive (this test runner) and not the pack: its temp file must stay
    const mine = join(dir, `.initrd-statelite.gz.xcimg-tmp.${process.pid}.abc123`);
    writeFileSync(mine, "in progress");
    const r = await sb.bin(["pack", IMG]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("removed what an interrupted");
    expect(existsSync(mine)).toBe(true);
  });

  test("lite removes them too: a dead process's temp archive and squashfs staging in a statelite image's directory", async () => {
    const sl = "test1-x86_64-statelite-compute";
    expect((await sb.run("image", "set", sl, "provmethod=statelite", "osvers=test1", "osarch=x86_64", "profile=slc", "rootfstype=ramdisk")).code).toBe(0);
    const sldir = join(sb.installdir, "netboot/test1/x86_64/slc");
    makeImageRoot(join(sldir, "rootimg"));
    const dead = Bun.spawnSync(["true"]).pid; // exited: its pid names no process now
    const leftovers = [join(sldir, `.rootimg-statelite.gz.xcimg-tmp.${dead}.k9x2pq`), join(sldir, `.xcimg-sfs.${dead}`)];
    writeFileSync(leftovers[0] as string, "half an archive");
    mkdirSync(join(leftovers[1] as string, "root"), { recursive: true });
    const r = await sb.bin(["lite", sl]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`removed what an interrupted xcimg left (its process is gone): ${leftovers.sort().join(" ")}`);
    expect(temps(sldir)).toEqual([]);
    expect(existsSync(join(sldir, "rootimg-statelite.gz"))).toBe(true);
  });
});
