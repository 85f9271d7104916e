import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findExlist, normalizePattern, osSearchList, parseExcludeList, XCAT_DEFAULT_EXCLUDES } from "../../../src/core/capture/excludes";
import { classifyMounts, escapeGlob, parseMountinfo } from "../../../src/core/capture/mounts";
import { NodeStderr } from "../../../src/core/capture/node-stderr";
import { archFromElf, xcatOsvers } from "../../../src/core/capture/osvers";
import { findKernels, splitSections } from "../../../src/core/capture/probe";
import { formatBytes, formatDuration, Progress } from "../../../src/core/capture/progress";
import { TarScanner } from "../../../src/core/capture/tar-scan";
import type { Logger } from "../../../src/core/log";

/** The pure parts of capture: OS naming, exclude lists, mount classification, tar counting. */
const dir = mkdtempSync(join(tmpdir(), "xcimg-capparts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const osr = (id: string, ver: string, extra = "") => ({ osRelease: `NAME="X"\nID=${id}\nVERSION_ID="${ver}"\n${extra}` });

describe("osvers from /etc/os-release, in xCAT's names", () => {
  test.each([
    [osr("rhel", "9.4"), "rhels9.4"],
    [osr("rocky", "9.4"), "rocky9.4"],
    [osr("almalinux", "8.10"), "alma8.10"],
    [osr("ol", "8.9"), "ol8.9"],
    [osr("fedora", "40"), "fedora40"],
    [osr("sles", "15.5"), "sle15.5"],
    [osr("sles", "12.3"), "sles12.3"],
    [osr("opensuse-leap", "15.6"), "leap15.6"],
    [osr("debian", "12"), "debian12"],
    [osr("ubuntu", "22.04"), "ubuntu22.04"],
    [{ ...osr("centos", "7"), redhatRelease: "CentOS Linux release 7.9.2009 (Core)\n" }, "centos7.9"],
    [{ osRelease: 'NAME="CentOS Stream"\nID="centos"\nVERSION_ID="9"\n' }, "centos-stream9"],
    [{ redhatRelease: "CentOS release 6.10 (Final)\n" }, "centos6.10"],
    [{ redhatRelease: "Red Hat Enterprise Linux Server release 6.9 (Santiago)\n" }, "rhels6.9"],
    [{ suseRelease: "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n" }, "sles11.4"],
    [osr("arch", ""), "arch"],
  ])("%j → %s", (files, want) => {
    expect(xcatOsvers(files)).toBe(want);
  });
  test("nothing to go on → null", () => expect(xcatOsvers({})).toBeNull());

  test("architecture from an ELF header (od -An -tx1 -N20)", () => {
    const od = Bun.spawnSync(["od", "-An", "-tx1", "-N20", "/bin/ls"]).stdout.toString();
    expect(archFromElf(od)).toBe(process.arch === "x64" ? "x86_64" : "aarch64");
    expect(archFromElf("7f 45 4c 46 02 01 01 00 00 00 00 00 00 00 00 00 02 00 b7 00")).toBe("aarch64");
    expect(archFromElf("7f 45 4c 46 02 01 01 00 00 00 00 00 00 00 00 00 02 00 15 00")).toBe("ppc64le");
    expect(archFromElf("23 21 2f 62")).toBeNull();
  });
});

describe("exclude lists (xcat.md §2.1)", () => {
  test("os search list as SvrUtils::get_os_search_list", () => {
    expect(osSearchList("rhels8.5")).toEqual(["rhels8.5", "rhels8.4", "rhels8.3", "rhels8.2", "rhels8.1", "rhels8.0", "rhels8"]);
    expect(osSearchList("ubuntu22.04")).toEqual(["ubuntu22.04"]);
    expect(osSearchList("debian12")).toEqual(["debian12"]);
    expect(osSearchList("leap15.1")).toEqual(["leap15.1", "leap15.0", "leap15", "sle15"]);
  });

  test("exlist search: custom dir first, distname by chopping osvers, file name order", () => {
    const install = join(dir, "install");
    const xcatroot = join(dir, "opt-xcat");
    const custom = join(install, "custom/netboot/rh");
    const shipped = join(xcatroot, "share/xcat/netboot/rh");
    mkdirSync(custom, { recursive: true });
    mkdirSync(shipped, { recursive: true });
    expect(findExlist(install, "compute", "rhels9.4", "x86_64", xcatroot)).toBeNull();
    writeFileSync(join(shipped, "compute.imgcapture.exlist"), "./a\n");
    expect(findExlist(install, "compute", "rhels9.4", "x86_64", xcatroot)).toBe(join(shipped, "compute.imgcapture.exlist"));
    writeFileSync(join(custom, "compute.x86_64.imgcapture.exlist"), "./b\n");
    expect(findExlist(install, "compute", "rhels9.4", "x86_64", xcatroot)).toBe(join(custom, "compute.x86_64.imgcapture.exlist"));
    writeFileSync(join(custom, "compute.rhels9.2.imgcapture.exlist"), "./c\n");
    expect(findExlist(install, "compute", "rhels9.4", "x86_64", xcatroot)).toBe(join(custom, "compute.rhels9.2.imgcapture.exlist"));
    writeFileSync(join(custom, "compute.rhels9.4.x86_64.imgcapture.exlist"), "./d\n");
    expect(findExlist(install, "compute", "rhels9.4", "x86_64", xcatroot)).toBe(join(custom, "compute.rhels9.4.x86_64.imgcapture.exlist"));
    expect(findExlist(install, "service", "rhels9.4", "x86_64", xcatroot)).toBeNull();
  });

  test("exlist lines: comments, blanks, leading spaces; patterns anchored at ./", () => {
    const warnings: string[] = [];
    const got = parseExcludeList("# xCAT style\n./tmp/*\n\n   ./var/cache/*\n/opt/big*\nscratch/*\n+./keep\n", "x.exlist", (m) => warnings.push(m));
    expect(got).toEqual(["./tmp/*", "./var/cache/*", "./opt/big*", "./scratch/*"]);
    expect(warnings[0]).toContain("include line");
    expect(normalizePattern("*.pyc")).toBe("./*.pyc");
    expect(XCAT_DEFAULT_EXCLUDES).toEqual(["./tmp/*", "./proc/*", "./sys/*", "./dev/*", "./xcatpost/*", "./install/*"]);
    expect(escapeGlob("./a*b?[c]\\d")).toBe("./a\\*b\\?\\[c]\\\\d");
  });
});

// A real node's mountinfo (trimmed), plus a bind mount, NFS, a FUSE mount and an escaped name.
const MOUNTINFO = `21 26 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
22 26 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 26 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=4000k
24 23 0:22 / /dev/pts rw,nosuid,noexec,relatime shared:3 - devpts devpts rw
25 26 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,mode=755
26 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
27 21 0:26 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw
40 26 254:2 / /boot rw,relatime shared:30 - ext4 /dev/vda2 rw
41 40 254:3 / /boot/efi rw,relatime shared:31 - vfat /dev/vda3 rw
42 26 254:1 /srv/data /data rw,relatime shared:1 - ext4 /dev/vda1 rw
43 26 0:40 / /home rw,relatime shared:32 - nfs4 mn:/home rw
44 26 0:41 / /mnt/my\\040disk rw shared:33 - xfs /dev/vdb rw
45 26 0:42 / /mnt/s3 rw shared:34 - fuse.s3fs s3fs rw
46 26 0:43 / /tmp rw shared:35 - tmpfs tmpfs rw
47 46 254:5 / /tmp/usb rw shared:36 - vfat /dev/sdb1 rw
`;

describe("mounts", () => {
  test("virtual, remote, FUSE and bind mounts are excluded; local disks captured; escapes decoded", () => {
    const got = classifyMounts(parseMountinfo(MOUNTINFO), "/");
    const by = Object.fromEntries(got.map((m) => [m.mountpoint, `${m.action}:${m.member}`]));
    expect(by).toEqual({
      "/": "root:.",
      "/sys": "excluded:./sys",
      "/proc": "excluded:./proc",
      "/dev": "excluded:./dev",
      "/run": "excluded:./run",
      "/boot": "captured:./boot",
      "/boot/efi": "captured:./boot/efi",
      "/data": "excluded:./data",
      "/home": "excluded:./home",
      "/mnt/my disk": "captured:./mnt/my disk",
      "/mnt/s3": "excluded:./mnt/s3",
      "/tmp": "excluded:./tmp",
    });
    expect(got.find((m) => m.mountpoint === "/data")?.reason).toContain("bind mount");
    expect(got.find((m) => m.mountpoint === "/home")?.reason).toBe("remote filesystem");
  });

  test("a capture root below / (and on a tmpfs) is captured itself; only mounts under it count", () => {
    const got = classifyMounts(parseMountinfo(MOUNTINFO), "/tmp/chroot");
    expect(got.map((m) => `${m.mountpoint}=${m.action}`)).toEqual(["/tmp=root"]);
    const sub = classifyMounts(parseMountinfo(`${MOUNTINFO}50 46 0:50 / /tmp/chroot/proc rw - proc proc rw\n`), "/tmp/chroot");
    expect(sub.map((m) => `${m.member}=${m.action}`)).toEqual([".=root", "./proc=excluded"]);
  });
});

describe("probe output", () => {
  test("sections survive junk before them; kernels pair with initrds and modules", () => {
    const out = Buffer.from(
      "motd junk\n\n@@XCIMG-PROBE@@ begin\n\n@@XCIMG-PROBE@@ boot\nvmlinuz-6.1.0-9-amd64\ninitrd.img-6.1.0-9-amd64\nvmlinuz-5.14.0-427.el9.x86_64\ninitramfs-5.14.0-427.el9.x86_64.img\nvmlinuz-0-rescue-abc\nconfig-6.1.0-9-amd64\n\n@@XCIMG-PROBE@@ end\n",
    );
    const s = splitSections(out);
    expect([...s.keys()]).toEqual(["begin", "boot", "end"]);
    expect(findKernels(s.get("boot")?.toString() ?? "", "6.1.0-9-amd64\n")).toEqual([
      { version: "5.14.0-427.el9.x86_64", kernel: "/boot/vmlinuz-5.14.0-427.el9.x86_64", initrd: "/boot/initramfs-5.14.0-427.el9.x86_64.img", modules: false },
      { version: "6.1.0-9-amd64", kernel: "/boot/vmlinuz-6.1.0-9-amd64", initrd: "/boot/initrd.img-6.1.0-9-amd64", modules: true },
    ]);
  });
});

describe("tar stream scanner", () => {
  test("counts match GNU tar's own listing of a pax incremental archive with sparse, links and long names", () => {
    const src = join(dir, "scan");
    mkdirSync(join(src, "d/sub"), { recursive: true });
    writeFileSync(join(src, "d/a"), "x".repeat(1000));
    writeFileSync(join(src, `d/${"long-name-".repeat(20)}`), "y");
    Bun.spawnSync(["ln", join(src, "d/a"), join(src, "d/sub/b")]);
    Bun.spawnSync(["ln", "-s", "a", join(src, "d/s")]);
    Bun.spawnSync(["mkfifo", join(src, "d/f")]);
    Bun.spawnSync(["truncate", "-s", "10G", join(src, "d/sparse")]);
    const tar = Bun.spawnSync(["tar", "-c", "--format=posix", "--sparse", "--xattrs", `--listed-incremental=${join(dir, "snar")}`, "-C", src, "."]);
    const archive = tar.stdout;
    const scanner = new TarScanner();
    for (let i = 0; i < archive.length; i += 7777) scanner.push(archive.subarray(i, i + 7777)); // odd chunking
    expect(scanner.ended).toBe(true);
    expect(scanner.broken).toBe(false);
    const listed = Bun.spawnSync(["tar", "-t", "-f", "-"], { stdin: archive }).stdout.toString().trim().split("\n");
    expect(scanner.entries).toBe(listed.length);
    expect(scanner.counts()).toEqual({ entries: 9, files: 3, dirs: 3, symlinks: 1, hardlinks: 1, specials: 1, bytes: 1000 + 1 + 10 * 1024 ** 3 });
    const junk = new TarScanner();
    junk.push(Buffer.from("not a tar archive".repeat(100)));
    expect(junk.broken).toBe(true);
  });
});

describe("progress line", () => {
  test("bytes, rate and ETA; cleared when done", async () => {
    const lines: string[] = [];
    let cleared = 0;
    const log = { info() {}, warn() {}, error() {}, debug() {}, progress: (m: string) => lines.push(m), progressDone: () => cleared++ } as Logger;
    const p = new Progress(log, "capturing golden", 1_000_000_000);
    p.draw(0);
    await Bun.sleep(50);
    p.draw(100_000_000);
    p.done();
    expect(lines[1]).toMatch(/^capturing golden: 100 MB at [\d.]+ [kMG]?B\/s, ETA \d+:\d\d \(0:00\)$/);
    expect(cleared).toBe(1);
    expect([formatBytes(999), formatBytes(1_234_567), formatBytes(45_600_000_000)]).toEqual(["999 B", "1.23 MB", "45.6 GB"]);
    expect([formatDuration(59.6), formatDuration(3725)]).toEqual(["1:00", "1:02:05"]);
  });
});

describe("the node's stderr during the stream (node-stderr.ts)", () => {
  const marker = "XCIMG-SNAR-0123456789ab";
  const snar = Buffer.concat([Buffer.from("GNU tar-1.34-2\n1700000000\0"), Buffer.alloc(3000, 0x41), Buffer.from([0])]);
  const all = Buffer.concat([Buffer.from("tar: ./a: file changed as we read it\n"), Buffer.from(`\n${marker}\n`), snar]);

  test("messages and snapshot are split however the chunks fall, the marker cut included", () => {
    for (const size of [1, 7, 30, 512, all.length]) {
      const spool = join(dir, `spool-${size}`);
      const c = new NodeStderr(marker, spool);
      for (let i = 0; i < all.length; i += size) c.push(all.subarray(i, i + size));
      const r = c.result();
      c.close();
      expect(r.text).toBe("tar: ./a: file changed as we read it\n");
      expect(r.snar?.equals(snar)).toBe(true);
      expect(existsSync(spool)).toBe(false);
    }
  });

  test("messages past their cap are counted, not kept; a snapshot past its cap overflows", () => {
    const c = new NodeStderr(marker, join(dir, "spool-cap"), { messages: 10, snapshot: 1000 });
    c.push(all);
    expect(c.overflow).toBe(true);
    const r = c.result();
    c.close();
    expect(r.text).toStartWith("tar: ./a: ");
    expect(r.text).toContain("(27 more bytes of messages from the node not kept)");
    expect(r.snar).toBeNull();
  });

  test("no marker, or a snapshot cut short: no snapshot", () => {
    const none = new NodeStderr(marker, join(dir, "spool-none"));
    none.push(Buffer.from("bash: warning: something\n"));
    expect(none.result()).toEqual({ text: "bash: warning: something\n", snar: null });
    none.close();
    const cut = new NodeStderr(marker, join(dir, "spool-cut"));
    cut.push(all.subarray(0, all.length - 1));
    expect(cut.result().snar).toBeNull();
    cut.close();
  });
});
