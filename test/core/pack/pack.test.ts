import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, execSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  closeSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import INIT_COMMON from "../../../src/core/initrd/init-common.sh" with { type: "text" };
import { defineNetbootImage, fakeKernels } from "../../helpers/images";
import { readNewc } from "../../helpers/newc";
import { Sandbox } from "../../helpers/sandbox";
import { makeAwkwardTree } from "../../helpers/trees";

const IMG = "test1-x86_64-netboot-compute";
let sb: Sandbox;
let dir: string;
let rootimg: string;

beforeAll(async () => {
  sb = new Sandbox("pack");
  ({ dir, rootimg } = await defineNetbootImage(sb, IMG));
  makeAwkwardTree(rootimg);
  fakeKernels(rootimg);
  // what a squashfs or tar image's first stage takes from the image, so those archives boot and
  // replace the others (test/provmethods/netboot/two-stage.test.ts: the rule when they cannot)
  const mods = join(rootimg, "lib/modules/6.1.0-10-amd64");
  mkdirSync(mods, { recursive: true });
  writeFileSync(join(mods, "modules.dep"), "kernel/fs/squashfs/squashfs.ko:\nkernel/fs/overlayfs/overlay.ko:\nkernel/drivers/block/loop.ko:\n");
});
afterAll(() => sb.cleanup());

const xcatinfo = () => readFileSync(join(rootimg, "opt/xcat/xcatinfo"), "utf8");
const listCpio = (file: string) => readNewc(execSync(`zcat ${file}`, { maxBuffer: 1 << 28 })).map((e) => e.name.toString("latin1"));

describe("xcimg pack", () => {
  test("cpio + gzip by default, with xCAT's progress lines, kernel and boot initrd beside it", async () => {
    const r = await sb.run("pack", IMG);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Packing contents of ${rootimg}`);
    expect(r.stderr).toContain("archive method:cpio");
    expect(r.stderr).toContain("compress method:gzip");
    expect(r.stdout).toContain(`${dir}/rootimg.cpio.gz`);
    const out = join(dir, "rootimg.cpio.gz");
    expect(statSync(out).mode & 0o777).toBe(0o644);
    const names = listCpio(out);
    expect(names).toContain("usr/bin/tool");
    expect(names).toContain("opt/xcat/xcatinfo");
    // the newest kernel by version (10 > 9), where xCAT's genimage leaves it
    expect(readFileSync(join(dir, "kernel"), "utf8")).toBe("kernel 10\n");
    const initrd = readNewc(execSync(`zcat ${join(dir, "initrd-stateless.gz")}`));
    expect(initrd.map((e) => e.name.toString())).toEqual(["dev", "dev/console", "dev/null", "init"]);
    const init = initrd[3]?.data.toString() ?? "";
    expect(init).toStartWith("#!/bin/sh\n");
    // the start it shares with statelite's /init (core/initrd/init-common.sh) is inlined, not sourced
    expect(init).toContain(INIT_COMMON.replace(/^# shellcheck .*\n/, ""));
    expect(init).not.toContain("$XC_SRC");
    expect(readdirSync(dir).filter((n) => n.includes("xcimg-tmp"))).toEqual([]);
  });

  test("the compiled binary's initrd-stateless.gz is the same, its /init assembled alike", async () => {
    const inProcess = readFileSync(join(dir, "initrd-stateless.gz"));
    const r = await sb.bin(["pack", IMG]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, "initrd-stateless.gz"))).toEqual(inProcess);
  });

  test("the kernel beside the archive is a copy: the captured tree's files keep their ctime, so the next capture stays incremental", async () => {
    const k = join(rootimg, "boot/vmlinuz-6.1.0-10-amd64");
    const before = statSync(k);
    await Bun.sleep(20);
    expect((await sb.run("pack", IMG)).code).toBe(0);
    const after = statSync(k);
    expect(after.nlink).toBe(1);
    expect(after.ctimeMs).toBe(before.ctimeMs);
    expect(statSync(join(dir, "kernel")).ino).not.toBe(after.ino);
  });

  test("xcatinfo: IMAGENAME, a new IMAGEUUID every pack, TIMESTAMP", async () => {
    const first = xcatinfo();
    expect(first).toMatch(
      new RegExp(`^IMAGENAME='${IMG}'\nIMAGEUUID='\\w+-\\w+-\\w+-\\w+-\\w+'\nTIMESTAMP='\\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d UTC \\d{4}'\n$`),
    );
    expect((await sb.run("pack", IMG)).code).toBe(0);
    const uuid = (s: string) => /IMAGEUUID='([^']+)'/.exec(s)?.[1];
    expect(uuid(xcatinfo())).not.toBe(uuid(first));
    // and the packed copy carries the new one
    const packed = readNewc(execSync(`zcat ${join(dir, "rootimg.cpio.gz")}`)).find((e) => e.name.toString() === "opt/xcat/xcatinfo");
    expect(packed?.data.toString()).toBe(xcatinfo());
  });

  test("linuximage.exlist: excludes, + includes, #INCLUDE#; statelite dirs always left out", async () => {
    mkdirSync(join(sb.dir, "exl"), { recursive: true });
    writeFileSync(join(sb.dir, "exl", "locale.exlist"), "./usr/share/locale*\n+./usr/share/locale/en_US*\n");
    writeFileSync(join(sb.dir, "exl", "compute.exlist"), "# site exclusions\n./usr/share/doc*\n#INCLUDE:locale.exlist#\n./boot*\n");
    mkdirSync(join(rootimg, ".statelite"), { recursive: true });
    writeFileSync(join(rootimg, ".statelite/litefile.save"), "x");
    expect((await sb.run("image", "set", IMG, `exlist=${join(sb.dir, "exl", "compute.exlist")}`)).code).toBe(0);
    expect((await sb.run("pack", IMG)).code).toBe(0);
    const names = listCpio(join(dir, "rootimg.cpio.gz"));
    expect(names.filter((n) => n.startsWith("usr/share/doc"))).toEqual([]);
    expect(names).not.toContain("usr/share/locale/de/LC_MESSAGES/x.mo");
    expect(names).toContain("usr/share/locale/en_US/LC_MESSAGES/x.mo");
    expect(names.filter((n) => n.startsWith("boot") || n.startsWith(".statelite"))).toEqual([]);
    // excluded from the archive, still the kernel nodes boot
    expect(readFileSync(join(dir, "kernel"), "utf8")).toBe("kernel 10\n");
    rmSync(join(rootimg, ".statelite"), { recursive: true });
    await sb.run("image", "set", IMG, "exlist=");
  });

  test("site.timezone: /etc/localtime points at the zone, which is packed even when the exlist drops zoneinfo", async () => {
    mkdirSync(join(rootimg, "usr/share/zoneinfo/Europe"), { recursive: true });
    writeFileSync(join(rootimg, "usr/share/zoneinfo/Europe/Berlin"), "TZif2 Berlin");
    writeFileSync(join(rootimg, "usr/share/zoneinfo/Europe/Paris"), "TZif2 Paris");
    writeFileSync(join(sb.dir, "tz.exlist"), "./usr/share/zoneinfo*\n");
    await sb.run("image", "set", IMG, `exlist=${join(sb.dir, "tz.exlist")}`);
    await sb.run("table", "set", "site", "key=timezone", "value=Europe/Berlin");
    const r = await sb.run("pack", IMG);
    expect(r.code, r.stderr).toBe(0);
    const entries = readNewc(execSync(`zcat ${join(dir, "rootimg.cpio.gz")}`));
    const names = entries.map((e) => e.name.toString());
    expect(names).toContain("usr/share/zoneinfo/Europe/Berlin");
    expect(names).not.toContain("usr/share/zoneinfo/Europe/Paris");
    expect(entries.find((e) => e.name.toString() === "etc/localtime")?.data.toString()).toBe("../usr/share/zoneinfo/Europe/Berlin");
    await sb.run("table", "set", "site", "key=timezone", "value=Mars/Olympus");
    expect((await sb.run("pack", IMG)).stderr).toContain("Unable to set timezone to 'Mars/Olympus', check this is a valid timezone");
    await sb.run("table", "rm", "site", "key=timezone");
    await sb.run("image", "set", IMG, "exlist=");
  });

  test("linuximage.kernelver picks the kernel; an absent one is named", async () => {
    await sb.run("image", "set", IMG, "kernelver=6.1.0-9-amd64");
    expect((await sb.run("pack", IMG)).code).toBe(0);
    expect(readFileSync(join(dir, "kernel"), "utf8")).toBe("kernel 9\n");
    await sb.run("image", "set", IMG, "kernelver=5.99");
    const r = await sb.run("pack", IMG);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("linuximage.kernelver is 5.99");
    expect(r.stderr).toContain("6.1.0-10-amd64");
    await sb.run("image", "set", IMG, "kernelver=");
  });

  test("-c zstd / xz / pigz write their suffix and remove the other archives only afterwards", async () => {
    expect((await sb.run("pack", IMG, "-c", "zstd")).code).toBe(0);
    expect(existsSync(join(dir, "rootimg.cpio.zst"))).toBe(true);
    expect(existsSync(join(dir, "rootimg.cpio.gz"))).toBe(false);
    execFileSync("zstd", ["-tq", join(dir, "rootimg.cpio.zst")]);
    const r = await sb.run("pack", IMG, "-c", "xz");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("compress method:xz");
    execFileSync("xz", ["-t", join(dir, "rootimg.cpio.xz")]);
    // the kernel's xz unpacker needs CRC32 checks
    expect(execFileSync("xz", ["-lv", join(dir, "rootimg.cpio.xz")]).toString()).toContain("CRC32");
    expect(existsSync(join(dir, "rootimg.cpio.zst"))).toBe(false);
    const p = await sb.run("pack", IMG, "-c", "pigz");
    expect(p.stderr).toContain("compress method:pigz");
    expect(
      readdirSync(dir)
        .filter((n) => n.startsWith("rootimg."))
        .sort(),
    ).toEqual(["rootimg.cpio.gz"]);
  });

  test("-m tar keeps xattrs and file capabilities (xCAT #922: non-root ping)", async () => {
    const cap = join(rootimg, "usr/bin/pinglike");
    cpSync(join(rootimg, "usr/bin/tool"), cap);
    execFileSync("setcap", ["cap_net_raw+ep", cap]);
    execFileSync("setfattr", ["-n", "user.site", "-v", "kept", join(rootimg, "etc/hostname")]);
    const r = await sb.run("pack", IMG, "-m", "tar");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("archive method:tar");
    const out = join(dir, "rootimg.tar.gz");
    expect(existsSync(join(dir, "rootimg.cpio.gz"))).toBe(false);
    const x = join(sb.dir, "tar-x");
    mkdirSync(x);
    execFileSync("tar", ["--xattrs", "--xattrs-include=*", "-xpzf", out, "-C", x]);
    expect(execFileSync("getcap", [join(x, "usr/bin/pinglike")]).toString()).toContain("cap_net_raw");
    expect(execFileSync("getfattr", ["--only-values", "-n", "user.site", join(x, "etc/hostname")]).toString()).toBe("kept");
    expect(statSync(join(x, "usr/bin/su-helper")).mode & 0o7777).toBe(0o4755);
    expect(statSync(join(x, "usr/lib/libhard.so.1")).ino).toBe(statSync(join(x, "usr/bin/hard-a")).ino);
  });

  test("-m squashfs packs the filtered tree", async () => {
    const r = await sb.run("pack", IMG, "-m", "squashfs");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("archive method:squashfs");
    expect(r.stderr).not.toContain("compress method");
    const listing = execFileSync("unsquashfs", ["-l", join(dir, "rootimg.sfs")]).toString();
    expect(listing).toContain("squashfs-root/usr/bin/tool");
    expect(readdirSync(dir).filter((n) => n.startsWith(".xcimg"))).toEqual([]);
    expect(existsSync(join(dir, "rootimg.tar.gz"))).toBe(false);
  });

  test("bad -m / -c give xCAT's messages (compress checked first), exit 64", async () => {
    let r = await sb.run("pack", IMG, "-m", "invalid");
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^Error: Invalid archive method 'invalid' requested$/m);
    r = await sb.run("pack", IMG, "-m", "invalid", "-c", "invalid");
    expect(r.stderr).toMatch(/^Error: Invalid compress method 'invalid' requested$/m);
    r = await sb.run("pack", "nope");
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("Cannot find image 'nope' from the osimage table.");
  });

  test("root password from the passwd table into /etc/shadow, as a new file (a hardlinked twin keeps the old one); site.secureroot locks it", async () => {
    const shadow = join(rootimg, "etc/shadow");
    const original = "root:$6$goldensalt$Zm9vYmFy:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n";
    writeFileSync(shadow, original);
    chmodSync(shadow, 0o640);
    chownSync(shadow, 0, 42);
    const twin = join(sb.dir, "shadow-twin");
    linkSync(shadow, twin);
    const packedShadow = () =>
      readNewc(execSync(`zcat ${join(dir, "rootimg.cpio.gz")}`, { maxBuffer: 1 << 28 }))
        .find((e) => e.name.toString() === "etc/shadow")
        ?.data.toString();

    // no passwd entry: the image keeps the golden node's root line (xCAT would write "cluster")
    let r = await sb.run("pack", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(shadow, "utf8")).toBe(original);
    expect(r.stderr).not.toContain("root password");

    // a disabled row is no row (xCAT's Table.pm)
    expect((await sb.run("table", "set", "passwd", "key=system,username=root", "password=cluster", "disable=1")).code).toBe(0);
    r = await sb.run("pack", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(shadow, "utf8")).toBe(original);

    expect((await sb.run("table", "set", "passwd", "key=system,username=root", "password=cluster", "disable=")).code).toBe(0);
    r = await sb.run("pack", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("root password: set from the passwd table");
    const [line, rest] = readFileSync(shadow, "utf8").split(/\n(.*)/s);
    const m = /^root:(\$6\$([./0-9A-Za-z]{16})\$[./0-9A-Za-z]{86}):13880:0:99999:7:::$/.exec(line as string);
    expect(m).not.toBeNull();
    // glibc's crypt, through openssl, agrees that the hash is "cluster"
    expect(
      execFileSync("openssl", ["passwd", "-6", "-salt", m?.[2] as string, "cluster"])
        .toString()
        .trim(),
    ).toBe(m?.[1] as string);
    expect(rest).toBe("daemon:*:19000:0:99999:7:::\n");
    const st = statSync(shadow);
    expect([st.mode & 0o7777, st.uid, st.gid, st.nlink]).toEqual([0o640, 0, 42, 1]);
    expect(readFileSync(twin, "utf8")).toBe(original);
    expect(packedShadow()).toBe(readFileSync(shadow, "utf8"));

    // packing again: the hash still matches the password, so the file is left as it is
    r = await sb.run("pack", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(shadow).ino).toBe(st.ino);
    expect(r.stderr).not.toContain("root password");

    // a hash in the table is used as it is; an unsupported crypt method stops the pack
    await sb.run("table", "set", "passwd", "key=system,username=root", "password=$5$abc$def");
    expect((await sb.run("pack", IMG)).code).toBe(0);
    expect(readFileSync(shadow, "utf8")).toStartWith("root:$5$abc$def:13880:0:99999:7:::\n");
    await sb.run("table", "set", "passwd", "key=system,username=root", "password=cluster", "cryptmethod=md5");
    const before = readFileSync(join(dir, "rootimg.cpio.gz"));
    r = await sb.run("pack", IMG);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("Unsupported crypt method md5 for the root password in the passwd table");
    expect(readFileSync(join(dir, "rootimg.cpio.gz")).equals(before)).toBe(true);

    // site.secureroot=1: root cannot log in with a password (xCAT's packimage_secureroot test)
    await sb.run("table", "set", "site", "key=secureroot", "value=1");
    r = await sb.run("pack", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("root password: locked (site.secureroot=1)");
    expect(packedShadow()).toMatch(/^root:\*:13880:0:99999:7:::\n/);
    await sb.run("table", "rm", "site", "key=secureroot");
    await sb.run("table", "rm", "passwd", "key=system,username=root");
  });

  test("a failing pack leaves the previous archive untouched and no temp files", async () => {
    expect((await sb.run("pack", IMG)).code).toBe(0);
    const out = join(dir, "rootimg.cpio.gz");
    const before = readFileSync(out);
    const ino = statSync(out).ino;
    const huge = join(rootimg, "var/lib/huge.img");
    closeSync(openSync(huge, "w"));
    truncateSync(huge, 5 * 2 ** 30); // sparse
    const r = await sb.run("pack", IMG);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("cpio cannot hold files over 4 GiB: /var/lib/huge.img (5.0 GiB)");
    expect(r.stderr).toContain("-m tar");
    expect(statSync(out).ino).toBe(ino);
    expect(readFileSync(out).equals(before)).toBe(true);
    // temp files, that is: the image manifest of the earlier pack stays (docs/provenance.md)
    expect(readdirSync(dir).filter((n) => n.includes("xcimg") && !n.startsWith("xcimg-manifest.json"))).toEqual([]);
    rmSync(huge);
  });

  test("two packs of one image at once: the second is refused (exit 75), the first completes", async () => {
    const [a, b] = await Promise.all([sb.run("pack", IMG), sb.run("pack", IMG)]);
    const codes = [a.code, b.code].sort();
    expect(codes).toEqual([0, 75]);
    const refused = a.code === 75 ? a : b;
    expect(refused.stderr).toMatch(/image directory \/.*\/compute is locked by 'xcimg pack test1-x86_64-netboot-compute' \(pid \d+\)/);
    expect(existsSync(join(sb.installdir, ".xcimg", "locks"))).toBe(true);
    expect(readdirSync(join(sb.installdir, ".xcimg", "locks"))).toEqual([]);
  });

  test("a missing rootimg says how to get one", async () => {
    await sb.run("image", "set", "empty-x86_64-netboot-compute", "provmethod=netboot", "osvers=none1", "osarch=x86_64", "profile=compute");
    const r = await sb.run("pack", "empty-x86_64-netboot-compute");
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("/netboot/none1/x86_64/compute/rootimg does not exist");
    expect(r.stderr).toContain("xcimg capture");
  });
});

describe("xcimg pack, compiled binary", () => {
  test("Ctrl-C mid-pack: exit 130, the previous archive untouched, no temp files, lock released", async () => {
    const { BIN } = await import("../../helpers/sandbox");
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
    expect((await sb.run("pack", IMG)).code).toBe(0);
    const out = join(dir, "rootimg.cpio.gz");
    const before = readFileSync(out);
    // enough data that packing takes a while: 2,000 files of incompressible bytes
    const bulk = join(rootimg, "var/bulk");
    mkdirSync(bulk, { recursive: true });
    const { randomBytes } = await import("node:crypto");
    for (let i = 0; i < 2000; i++) writeFileSync(join(bulk, `f${i}`), randomBytes(64 << 10));
    const proc = Bun.spawn([BIN, "pack", IMG], { env: { ...process.env, XCIMG_CONFIG: sb.config }, stdout: "pipe", stderr: "pipe" });
    // wait until it holds the lock (it is packing), then interrupt it
    const locks = join(sb.installdir, ".xcimg", "locks");
    for (let i = 0; i < 200 && !(existsSync(locks) && readdirSync(locks).length); i++) await Bun.sleep(10);
    await Bun.sleep(150);
    proc.kill("SIGINT");
    const code = await proc.exited;
    const stderr = await new Response(proc.stderr).text();
    expect(code, stderr).toBe(130);
    expect(stderr).toContain("interrupted");
    expect(readFileSync(out).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((n) => n.includes("xcimg") && !n.startsWith("xcimg-manifest.json"))).toEqual([]);
    expect(readdirSync(locks)).toEqual([]);
    rmSync(bulk, { recursive: true });
  }, 60000);
});
