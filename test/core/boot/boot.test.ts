import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage } from "../../helpers/images";
import { readNewc } from "../../helpers/newc";
import { Sandbox } from "../../helpers/sandbox";

/**
 * xcimg boot against a real sandbox site: the boot loader files are compared with golden
 * copies (test/core/boot/golden; UPDATE_GOLDEN=1 rewrites them), GRUB's own parser checks the
 * GRUB files, and the per-node results (links, overlay, database) are read back.
 */
const IMG = "test1-x86_64-netboot-compute";
const GOLDEN = join(import.meta.dir, "golden");
let sb: Sandbox;
let dir: string;

/** A kernel with an EFI stub header (what xCAT sniffs to write the .uefi variant). */
function fakeEfiKernel(path: string): void {
  const k = Buffer.alloc(1024, 0);
  k.write("MZ", 0, "latin1");
  Buffer.from([0x50, 0x45, 0, 0, 0x64, 0x86]).copy(k, 0x80);
  writeFileSync(path, k);
}

beforeAll(async () => {
  sb = new Sandbox("boot", '[ssh]\nidentity = "mn_key"');
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "root@mn", "-f", join(sb.dir, "mn_key")]);
  const img = await defineNetbootImage(sb, IMG, ["addkcmdline=systemd.unified_cgroup_hierarchy=1"]);
  dir = img.dir;
  mkdirSync(join(img.rootimg, "boot"), { recursive: true });
  mkdirSync(join(img.rootimg, "etc"), { recursive: true });
  mkdirSync(join(img.rootimg, "usr/lib/systemd/system"), { recursive: true });
  writeFileSync(join(img.rootimg, "usr/lib/systemd/system/systemd-networkd.service"), "[Unit]\n");
  fakeEfiKernel(join(img.rootimg, "boot/vmlinuz-6.1.0-10-amd64"));
  const p = await sb.run("pack", IMG);
  if (p.code !== 0) throw new Error(p.stderr);
  const set = async (...a: string[]) => {
    const r = await sb.run("node", "set", ...a);
    if (r.code !== 0) throw new Error(r.stderr);
  };
  await set("cn[01-06]", "groups=compute,all", "arch=x86_64");
  await set("cn01", "netboot=xnba", "mac=52:54:00:12:34:01", "ip=10.0.2.15", "serialport=0", "serialspeed=115200", "addkcmdline=quiet R::crashkernel=256M");
  await set("cn02", "netboot=grub2", "mac=52:54:00:12:34:02", "ip=10.0.2.16");
  await set("cn03", "netboot=grub2-http", "mac=52:54:00:12:34:03", "xcatmaster=10.0.2.2");
  await set("cn04", "netboot=pxe", "mac=52:54:00:12:34:04", "ip=10.0.2.18", "serialport=1", "serialspeed=9600", "serialflow=hard");
  await set("cn05", "netboot=xnba");
  await set("cn06", "netboot=xnba", "mac=52:54:00:12:34:06", "serialport=0");
});
afterAll(() => sb.cleanup());

const tftp = (rel: string) => join(sb.tftpdir, rel);

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, "utf8"));
}

describe("xcimg boot", () => {
  test("writes each node's boot loader file, byte for byte as the golden copies", async () => {
    const r = await sb.run("boot", "cn[01-04]", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(["cn01", "cn02", "cn03", "cn04"].map((n) => `${n}: netboot test1-x86_64-compute\n`).join(""));
    golden("xnba-cn01", readFileSync(tftp("xcat/xnba/nodes/cn01"), "utf8"));
    golden("xnba-cn01.uefi", readFileSync(tftp("xcat/xnba/nodes/cn01.uefi"), "utf8"));
    golden("grub2-cn02", readFileSync(tftp("boot/grub2/cn02"), "utf8"));
    golden("grub2-http-cn03", readFileSync(tftp("boot/grub2/cn03"), "utf8"));
    golden("pxelinux-cn04", readFileSync(tftp("pxelinux.cfg/cn04"), "utf8"));
  });

  test("GRUB files pass grub-script-check and end without a newline, as xCAT writes them", () => {
    for (const f of ["boot/grub2/cn02", "boot/grub2/cn03"]) {
      execFileSync("grub-script-check", [tftp(f)]);
      expect(readFileSync(tftp(f), "utf8").endsWith("}")).toBe(true);
    }
  });

  test("grub2 names are hard links (MAC and HEXIP), pxelinux names symlinks; kernel and initrds published", () => {
    const ino = statSync(tftp("boot/grub2/cn02")).ino;
    expect(statSync(tftp("boot/grub2/grub.cfg-01-52-54-00-12-34-02")).ino).toBe(ino);
    expect(statSync(tftp("boot/grub2/grub.cfg-0A000210")).ino).toBe(ino);
    expect(existsSync(tftp("boot/grub2/grub.cfg-01-52-54-00-12-34-03"))).toBe(true);
    expect(readlinkSync(tftp("pxelinux.cfg/01-52-54-00-12-34-04"))).toBe("cn04");
    expect(readlinkSync(tftp("pxelinux.cfg/0A000212"))).toBe("cn04");
    for (const f of ["kernel", "initrd-stateless.gz", "rootimg.cpio.gz"]) expect(existsSync(tftp(`xcat/osimage/${IMG}/${f}`))).toBe(true);
    // same filesystem: the packed image is linked, not copied
    expect(statSync(tftp(`xcat/osimage/${IMG}/rootimg.cpio.gz`)).ino).toBe(statSync(join(dir, "rootimg.cpio.gz")).ino);
  });

  test("nodetype.provmethod, os/arch/profile, chain.currstate and bootparams are set", async () => {
    const r = await sb.run("--json", "node", "show", "cn01");
    const a = JSON.parse(r.stdout).cn01;
    expect(a).toMatchObject({
      provmethod: IMG,
      os: "test1",
      arch: "x86_64",
      profile: "compute",
      currstate: "netboot test1-x86_64-compute",
      kernel: `xcat/osimage/${IMG}/kernel`,
    });
    expect(a.kcmdline).toBe(
      "imgurl=http://!myipfn!:80/install/netboot/test1/x86_64/compute/rootimg.cpio.gz XCAT=!myipfn!:3001 NODE=cn01 FC=0 XCATHTTPPORT=80  console=tty0 console=ttyS0,115200",
    );
  });

  test("each node's overlay carries its identity; the SSH host key is made once and kept", async () => {
    const overlay = () => readNewc(readFileSync(tftp("xcat/overlay/cn02.cpio")));
    const files = new Map(overlay().map((e) => [e.name.toString(), e]));
    expect(files.get("etc/hostname")?.data.toString()).toBe("cn02\n");
    const env = files.get("etc/xcimg/node.env")?.data.toString() ?? "";
    expect(env).toContain("XCIMG_NODE='cn02'\n");
    expect(env).toContain(`XCIMG_IMAGE='${IMG}'\n`);
    expect(env).toContain("XCIMG_MAC='52:54:00:12:34:02'\n");
    expect(env).toContain("XCIMG_NET='dhcp'\n");
    // the image has systemd-networkd and nothing else: a MAC-matched unit, and networkd enabled
    expect(files.get("etc/systemd/network/10-xcimg.network")?.data.toString()).toContain("MACAddress=52:54:00:12:34:02\n");
    expect(files.get("etc/systemd/system/multi-user.target.wants/systemd-networkd.service")?.data.toString()).toBe(
      "/usr/lib/systemd/system/systemd-networkd.service",
    );
    expect(files.has("etc/xcimg/ifupdown")).toBe(false);
    const key = files.get("etc/ssh/ssh_host_ed25519_key");
    expect((key?.mode ?? 0) & 0o777).toBe(0o600);
    expect(files.get("root")?.mode).toBe(0o040700);
    expect(files.get("root/.ssh")?.mode).toBe(0o040700);
    expect(files.get("root/.ssh/authorized_keys")?.data.toString()).toBe(readFileSync(join(sb.dir, "mn_key.pub"), "utf8"));
    // OpenSSH reads our private key and derives the same public key
    const keyFile = join(sb.dir, "cn02.key");
    writeFileSync(keyFile, key?.data as Buffer, { mode: 0o600 });
    const pub = execFileSync("ssh-keygen", ["-y", "-f", keyFile]).toString().trim();
    expect(files.get("etc/ssh/ssh_host_ed25519_key.pub")?.data.toString()).toStartWith(pub);
    // kept privately next to the database, and published for known_hosts
    expect(statSync(join(sb.dir, "db", "ssh-host-keys.json")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(sb.dir, "db", "ssh_known_hosts"), "utf8")).toContain(`cn02,10.0.2.16 ${pub.split(" ").slice(0, 2).join(" ")}\n`);
    // boot again: same key
    expect((await sb.run("boot", "cn02", "-o", IMG)).code).toBe(0);
    const again = new Map(overlay().map((e) => [e.name.toString(), e]));
    expect(again.get("etc/ssh/ssh_host_ed25519_key")?.data.equals(key?.data as Buffer)).toBe(true);
    // another node has another key
    const other = readNewc(readFileSync(tftp("xcat/overlay/cn01.cpio"))).find((e) => e.name.toString() === "etc/ssh/ssh_host_ed25519_key");
    expect(other?.data.equals(key?.data as Buffer)).toBe(false);
  });

  test("a node's new MAC replaces its old grub2 link; a new loader removes the old loader's files", async () => {
    await sb.run("node", "set", "cn02", "mac=52:54:00:12:34:22");
    expect((await sb.run("boot", "cn02", "-o", IMG)).code).toBe(0);
    expect(existsSync(tftp("boot/grub2/grub.cfg-01-52-54-00-12-34-02"))).toBe(false);
    expect(statSync(tftp("boot/grub2/grub.cfg-01-52-54-00-12-34-22")).ino).toBe(statSync(tftp("boot/grub2/cn02")).ino);
    await sb.run("node", "set", "cn01", "netboot=pxe");
    expect((await sb.run("boot", "cn01", "-o", IMG)).code).toBe(0);
    expect(existsSync(tftp("xcat/xnba/nodes/cn01"))).toBe(false);
    expect(existsSync(tftp("xcat/xnba/nodes/cn01.uefi"))).toBe(false);
    expect(readFileSync(tftp("pxelinux.cfg/cn01"), "utf8")).toContain("KERNEL xcat/osimage/");
    await sb.run("node", "set", "cn01", "netboot=xnba");
    await sb.run("boot", "cn01", "-o", IMG);
  });

  test("nodes without a MAC or with a bad console are reported; the others still boot (exit 1)", async () => {
    const r = await sb.run("boot", "cn01,cn05,cn06", "-o", IMG);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("cn01: netboot test1-x86_64-compute\n");
    expect(r.stderr).toContain("Error: cn05: No MAC address available for this node\n");
    expect(r.stderr).toContain("Error: cn06: serialport defined, but no serialspeed for cn06 in nodehm table\n");
    expect(existsSync(tftp("xcat/xnba/nodes/cn05"))).toBe(false);
    expect(existsSync(tftp("xcat/overlay/cn06.cpio"))).toBe(false);
    const j = await sb.run("--json", "boot", "cn01,cn05", "-o", IMG);
    expect(JSON.parse(j.stdout).failed).toEqual({ cn05: "No MAC address available for this node" });
  });

  test("without -o each node boots its nodetype.provmethod; unknown images fail per node", async () => {
    await sb.run("node", "set", "cn02", "provmethod=ghost-image");
    await sb.run("node", "set", "cn04", "provmethod=");
    const r = await sb.run("boot", "cn01,cn02,cn04");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("cn01: netboot test1-x86_64-compute\n");
    expect(r.stderr).toContain("Error: cn02: Cannot find image 'ghost-image' from the osimage table.");
    expect(r.stderr).toContain("Error: cn04: OS image name must be specified in nodetype.provmethod");
  });

  test("an image without kernel or packed image: one clear error when it is the only one", async () => {
    await defineNetbootImage(sb, "bare-x86_64-netboot-compute", [], "bare1");
    let r = await sb.run("boot", "cn01", "-o", "bare-x86_64-netboot-compute");
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("kernel cannot be found at");
    expect(r.stderr).toContain("xcimg pack bare-x86_64-netboot-compute");
    r = await sb.run("boot", "cn01", "-o", "nope");
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("Cannot find image 'nope' from the osimage table.");
    expect(readdirSync(tftp("xcat/osimage"))).toEqual([IMG]);
  });

  test("repacking republishes the image for its nodes; a tar repack that could not boot keeps the cpio archive, says why, and nodes keep booting it", async () => {
    const published = tftp(`xcat/osimage/${IMG}/rootimg.cpio.gz`);
    let r = await sb.run("pack", IMG, "-c", "zstd");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Refreshed the boot files of ${IMG}`);
    expect(existsSync(published)).toBe(false);
    expect(statSync(tftp(`xcat/osimage/${IMG}/rootimg.cpio.zst`)).ino).toBe(statSync(join(dir, "rootimg.cpio.zst")).ino);
    // this image has no /lib/modules for its first stage (test/provmethods/netboot/two-stage.test.ts boots tar images)
    r = await sb.run("pack", IMG, "-m", "tar");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `Warning: kept rootimg.cpio.zst: nodes cannot boot rootimg.tar.gz yet (${dir}/rootimg/lib/modules/6.1.0-10-amd64 does not exist`,
    );
    expect(existsSync(join(dir, "rootimg.cpio.zst"))).toBe(true);
    expect(existsSync(tftp(`xcat/osimage/${IMG}/rootimg.cpio.zst`))).toBe(true);
    r = await sb.run("boot", "cn01", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(tftp("xcat/xnba/nodes/cn01"), "utf8")).toContain("/rootimg.cpio.zst ");
    expect((await sb.run("pack", IMG)).code).toBe(0);
    expect(existsSync(join(dir, "rootimg.tar.gz"))).toBe(false);
    expect(existsSync(published)).toBe(true);
    expect(existsSync(tftp(`xcat/osimage/${IMG}/rootimg.cpio.zst`))).toBe(false);
  });

  test("--offline removes every boot file of the nodes and marks them offline", async () => {
    expect((await sb.run("boot", "cn[01-04]", "-o", IMG)).code).toBe(0);
    const r = await sb.run("boot", "cn[01-04]", "--offline");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("cn01: offline\ncn02: offline\ncn03: offline\ncn04: offline\n");
    const left = (d: string) => (existsSync(tftp(d)) ? readdirSync(tftp(d)) : []);
    expect(left("xcat/xnba/nodes")).toEqual([]);
    expect(left("boot/grub2")).toEqual([]);
    expect(left("pxelinux.cfg")).toEqual([]);
    expect(left("xcat/overlay").filter((f) => /cn0[1-4]/.test(f))).toEqual([]);
    const a = JSON.parse((await sb.run("--json", "node", "show", "cn03")).stdout).cn03;
    expect(a.currstate).toBe("offline");
    expect(JSON.parse(readFileSync(join(sb.dir, "db", "ssh-host-keys.json"), "utf8")).cn03.private).toContain("OPENSSH PRIVATE KEY"); // identity kept
  });

  test("10,000 nodes in one run", async () => {
    let r = await sb.run("node", "set", "big[00001-10000]", "groups=big,all", "netboot=xnba", "arch=x86_64");
    expect(r.code).toBe(0);
    const rows = ["#node,interface,mac,comments,disable"];
    for (let i = 1; i <= 10000; i++) rows.push(`"big${String(i).padStart(5, "0")}",,"52:54:01:00:${hex2(i >> 8)}:${hex2(i & 255)}",,`);
    writeFileSync(join(sb.dir, "mac.csv"), `${rows.join("\n")}\n`);
    // keep the rows of the other tests: add, don't replace
    r = await sb.run("table", "restore", "mac", join(sb.dir, "mac.csv"), "-a");
    expect(r.code, r.stderr).toBe(0);
    const t0 = performance.now();
    r = await sb.run("boot", "big", "-o", IMG);
    const s = (performance.now() - t0) / 1000;
    console.log(`xcimg boot: 10,000 nodes in ${s.toFixed(2)} s (first run, host keys created)`);
    expect(r.code, r.stderr.slice(0, 500)).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean).length).toBe(10000);
    expect(readdirSync(tftp("xcat/xnba/nodes")).filter((f) => f.startsWith("big")).length).toBe(20000); // BIOS + UEFI
    expect(readdirSync(tftp("xcat/overlay")).filter((f) => f.startsWith("big")).length).toBe(10000);
    const t1 = performance.now();
    r = await sb.run("boot", "big", "-o", IMG);
    console.log(`xcimg boot: 10,000 nodes in ${((performance.now() - t1) / 1000).toFixed(2)} s (again, keys reused)`);
    expect(r.code).toBe(0);
  }, 120000);
});

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}
