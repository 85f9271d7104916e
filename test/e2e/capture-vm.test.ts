import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { readCaptureRecord } from "../../src/core/capture/record";
import { openDb } from "../../src/core/db/open";
import { compareTrees } from "../helpers/fidelity-tree";
import { GOLDEN, GoldenVm } from "../helpers/golden-vm";
import { type StaticServer, serveStatic } from "../helpers/http-serve";
import { bootAndLogin } from "../helpers/node-login";
import { Sandbox } from "../helpers/sandbox";

/**
 * End to end: the golden Debian 12 VM (systemd running, /proc /sys /dev /run mounted, an ESP
 * on /boot/efi, swap, a GPT disk) captured over SSH through qemu's user networking, with
 * -t diskless and -t sysclone. The guest's disk comes from .cache/golden/rootfs, so the
 * captured /usr can be compared with the tree the disk was built from. Then the captured
 * diskless image is packed and PXE-booted in qemu, and logged into over SSH, twice.
 */
let vm: GoldenVm;
let sb: Sandbox;
let web: StaticServer;

beforeAll(async () => {
  vm = await GoldenVm.boot();
  // a relative path in the config is relative to the config file: an empty known_hosts of its own
  sb = new Sandbox("capture-vm", ["[ssh]", `identity = "${vm.key}"`, `known_hosts = "known_hosts"`, `port = ${vm.port}`].join("\n"));
  // the management node's web server for the netboot test (nginx in production, docs/boot.md)
  web = serveStatic({ "/tftpboot": sb.tftpdir, "/install": sb.installdir });
  appendFileSync(sb.config, `[http]\nport = ${web.port}\n`);
  expect((await sb.run("node", "set", "golden", "ip=127.0.0.1")).code).toBe(0);
}, 300_000);
afterAll(async () => {
  await vm?.stop();
  web?.stop();
  sb?.cleanup();
});

function record(image: string) {
  const db = openDb(sb.dbPath);
  try {
    return readCaptureRecord(db, image) as Record<string, unknown>;
  } finally {
    db.close();
  }
}

describe("capture of a booted Debian VM", () => {
  test("-t diskless: the live root without /proc /sys /dev /run contents, /boot/efi included, identity generalized", async () => {
    const r = await sb.run("--json", "capture", "golden", "-t", "diskless", "--accept-new-hostkey");
    expect(r.stderr).toContain("Permanently added the ED25519 host key of golden");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    console.error(`diskless full capture: ${out.files} files, ${out.streamBytes} bytes in ${out.seconds.toFixed(1)} s`);
    expect(out.image).toBe("debian12-x86_64-netboot-compute");
    expect(out.level).toBe("full");
    const tree = out.tree as string;
    expect(tree).toBe(join(sb.installdir, "netboot/debian12/x86_64/compute/rootimg"));
    for (const d of ["proc", "sys", "dev", "run", "tmp"]) expect(readdirSync(join(tree, d))).toEqual([]);
    expect(statSync(join(tree, "tmp")).mode & 0o7777).toBe(0o1777);
    for (const m of ["/proc (proc)", "/sys (sysfs)", "/dev (devtmpfs)", "/run (tmpfs)"]) expect(out.excludedMounts).toContain(m);
    expect(out.identityRemoved).toContain("/etc/ssh/ssh_host_ed25519_key");
    expect(out.identityRemoved).toContain("/etc/machine-id (emptied)");
    // /usr never changes at run time: it must equal the tree the VM's disk was made from
    // (contents, modes, owners, links, xattrs, ACLs; mkfs.ext4 -d kept only whole seconds
    // of the mtimes and allocated blocks its own way)
    expect(compareTrees(join(GOLDEN, "rootfs/usr"), join(tree, "usr"), { mtimeSeconds: true, ignoreBlocks: true })).toEqual([]);
    expect(existsSync(join(tree, "usr/sbin/sshd"))).toBe(true);
    const kver = vm.info.kernelVersion;
    expect(out.kernels).toEqual([{ version: kver, kernel: `/boot/vmlinuz-${kver}`, initrd: `/boot/initrd.img-${kver}`, modules: true }]);
    const rec = record(out.image);
    const mounts = rec.mounts as { mountpoint: string; fstype: string; action: string }[];
    expect(mounts.find((m) => m.mountpoint === "/")?.action).toBe("root");
    expect(mounts.find((m) => m.mountpoint === "/boot/efi")).toMatchObject({ fstype: "vfat", action: "captured" });
    expect(rec.disk_layout).toBeNull(); // only sysclone records the disks

    // again: only what changed since (logs, journal) travels
    const again = await sb.run("--json", "capture", "golden", "-t", "diskless");
    expect(again.code).toBe(0);
    const out2 = JSON.parse(again.stdout);
    console.error(`diskless re-capture: ${out2.files} files, ${out2.streamBytes} bytes in ${out2.seconds.toFixed(1)} s`);
    expect(out2.level).toBe("incremental");
    expect(out2.streamBytes).toBeLessThan(out.streamBytes / 5);
    expect(readFileSync(join(tree, "etc/hostname"), "utf8")).toBe("golden\n");
  }, 300_000);

  test("-t sysclone: the tree plus the disk layout clone needs (GPT, UUIDs, filesystems, swap)", async () => {
    const r = await sb.run("--json", "capture", "golden", "-t", "sysclone", "-o", "golden-vm");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    console.error(`sysclone capture: ${out.files} files, ${out.streamBytes} bytes in ${out.seconds.toFixed(1)} s`);
    expect(out.tree).toBe(join(sb.installdir, "sysclone/images/golden-vm"));
    expect(readFileSync(join(out.tree, "etc/os-release"), "utf8")).toContain('VERSION_ID="12"');
    const show = await sb.run("image", "show", "golden-vm");
    expect(show.stdout).toContain("    provmethod=sysclone\n");
    const layout = record("golden-vm").disk_layout as {
      firmware: string;
      lsblk: { blockdevices: { name: string; children?: { name: string }[] }[] };
      partitionTables: Record<string, { partitiontable: { label: string; partitions: { node: string; type: string }[] } }>;
      blkid: Record<string, Record<string, string>>;
      filesystems: { filesystems: { target: string; fstype: string; size: number; used: number; children?: unknown[] }[] };
      swaps: { device: string }[];
      lvm: unknown;
      fstab: string;
      missing: string[];
    };
    expect(layout.firmware).toBe("bios");
    const vda = layout.lsblk.blockdevices.find((d) => d.name === "vda");
    expect(vda?.children?.map((c) => c.name)).toEqual(["vda1", "vda2", "vda3", "vda4"]);
    const pt = layout.partitionTables["/dev/vda"]?.partitiontable;
    expect(pt?.label).toBe("gpt");
    expect(pt?.partitions.map((p) => p.type)).toEqual([
      "21686148-6449-6E6F-744E-656564454649",
      "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
      "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
      "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
    ]);
    expect(layout.blkid["/dev/vda4"]).toMatchObject({ UUID: vm.info.rootUuid, TYPE: "ext4", LABEL: "golden-root" });
    expect(layout.blkid["/dev/vda3"]).toMatchObject({ UUID: vm.info.swapUuid, TYPE: "swap" });
    expect(layout.blkid["/dev/vda2"]).toMatchObject({ UUID: vm.info.espUuid, TYPE: "vfat" });
    const root = layout.filesystems.filesystems.find((f) => f.target === "/");
    expect(root?.fstype).toBe("ext4");
    expect(root?.used).toBeGreaterThan(100_000_000);
    expect(layout.swaps.map((s) => s.device)).toEqual(["/dev/vda3"]);
    expect(layout.lvm).toBeNull();
    expect(layout.missing).toEqual(["LVM (pvs): not installed on the node", "LVM (vgs): not installed on the node", "LVM (lvs): not installed on the node"]);
    expect(layout.fstab).toContain(`UUID=${vm.info.rootUuid} / ext4`);
  }, 300_000);

  test("the captured diskless image packs, PXE-boots as cn01 on a tmpfs root and answers over SSH, with the same host key on a second boot", async () => {
    await vm.stop(); // the golden node's job is done; give its CPU to the netbooted one
    const image = "debian12-x86_64-netboot-compute";
    let r = await sb.run("pack", image);
    expect(r.code, r.stderr).toBe(0);
    r = await sb.run(
      "node",
      "set",
      "cn01",
      "groups=compute,all",
      "netboot=xnba",
      "arch=x86_64",
      "mac=52:54:00:12:34:01",
      "ip=10.0.2.15",
      "serialport=0",
      "serialspeed=115200",
    );
    expect(r.code).toBe(0);
    r = await sb.run("boot", "cn01", "-o", image);
    expect(r.code, r.stderr).toBe(0);
    const target = { tftpdir: sb.tftpdir, node: "cn01", mac: "52:54:00:12:34:01", key: vm.key, knownHosts: join(sb.dir, "db", "ssh_known_hosts") };
    const check = "hostname; findmnt -n -o FSTYPE /; ip -4 -o addr show scope global; cat /etc/xcimg/node.env; systemctl is-system-running || true";
    const first = await bootAndLogin(target, check, "captured Debian 12, first boot");
    expect(first.split("\n").slice(0, 2)).toEqual(["cn01", "tmpfs"]);
    expect(first).toContain("inet 10.0.2.15/24");
    expect(first).toContain("XCIMG_NODE='cn01'");
    // boot files rewritten, as after a re-image: the node keeps its identity (strict host key check)
    r = await sb.run("boot", "cn01", "-o", image);
    expect(r.code).toBe(0);
    const second = await bootAndLogin(target, check, "captured Debian 12, second boot");
    expect(second.split("\n").slice(0, 2)).toEqual(["cn01", "tmpfs"]);
  }, 600_000);
});
