import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, closeSync, copyFileSync, mkdirSync, openSync, readSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GoldenVm } from "../helpers/golden-vm";
import { type StaticServer, serveStatic } from "../helpers/http-serve";
import { freePort, type LoginTarget, ssh } from "../helpers/node-login";
import { OVMF_MS_VARS, Vm } from "../helpers/qemu";
import { Sandbox } from "../helpers/sandbox";
import { installSignedNetChain } from "../helpers/secureboot";

/**
 * End to end, seed 000: the golden Debian 12 VM (GPT: BIOS boot, ESP, swap, ext4 root) is
 * captured with -t sysclone; `xcimg clone` prepares cn01, which PXE-boots in qemu with a blank
 * disk twice the golden size, partitions, copies, installs GRUB with the image's own tools,
 * takes its identity, is switched to local boot by `xcimg clone --wait` and comes up from its
 * disk. A node with a disk too small stops and leaves the disk untouched. Then the golden node
 * changes, is captured again, and the running clone is updated in place over SSH.
 */
let golden: GoldenVm;
let sb: Sandbox;
let web: StaticServer;
let clone: Vm | null = null;
let clonePort = 0;
let cloneDisk = "";
const IMAGE = "golden-vm";

async function onGolden(command: string): Promise<string> {
  const argv = ["ssh", "-i", golden.key, "-p", String(golden.port), "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${join(sb.dir, "golden_known_hosts")}`];
  argv.push("-o", "StrictHostKeyChecking=accept-new", "-o", "LogLevel=ERROR", "-o", "HostKeyAlias=golden", "root@127.0.0.1", command);
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`on the golden node: ${command}: exit ${code}: ${err}`);
  return out;
}

function target(node: string, mac: string): LoginTarget {
  return { tftpdir: sb.tftpdir, node, mac, key: golden.key, knownHosts: join(sb.dir, "db", "ssh_known_hosts") };
}

/** A sparse file of `bytes` zeros: a blank disk. */
function blankDisk(name: string, bytes: number): string {
  const f = join(sb.dir, name);
  closeSync(openSync(f, "w"));
  truncateSync(f, bytes);
  return f;
}

/** True when every byte of the file is zero (an untouched blank disk), read in 1 MiB blocks. */
function allZero(file: string): boolean {
  const fd = openSync(file, "r");
  const buf = Buffer.alloc(1 << 20);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return true;
      for (let i = 0; i < n; i++) if (buf[i] !== 0) return false;
    }
  } finally {
    closeSync(fd);
  }
}

const GOLDEN_DISK = 2560 * 1024 * 1024;

beforeAll(async () => {
  golden = await GoldenVm.boot();
  sb = new Sandbox("clone-vm", ["[ssh]", `identity = "${golden.key}"`, `known_hosts = "known_hosts"`, `port = ${golden.port}`].join("\n"));
  web = serveStatic({ "/tftpboot": sb.tftpdir, "/install": sb.installdir });
  appendFileSync(sb.config, `[http]\nport = ${web.port}\n`);
  expect((await sb.run("node", "set", "golden", "ip=127.0.0.1")).code).toBe(0);
  // what a faithful copy must keep: a file capability, a user xattr, a sparse file, a hardlink
  await onGolden(
    [
      "set -e",
      "printf '#!/bin/sh\\necho probe\\n' >/usr/local/bin/xcimg-probe && chmod 755 /usr/local/bin/xcimg-probe",
      "setcap cap_net_raw+ep /usr/local/bin/xcimg-probe",
      "setfattr -n user.xcimg -v kept /usr/local/bin/xcimg-probe",
      "ln /usr/local/bin/xcimg-probe /usr/local/bin/xcimg-probe-link",
      "truncate -s 64M /var/tmp/sparse && printf end >>/var/tmp/sparse",
      "echo 'probe' >/etc/xcimg-golden",
    ].join("\n"),
  );
  const r = await sb.run("--json", "capture", "golden", "-t", "sysclone", "-o", IMAGE, "--accept-new-hostkey");
  expect(r.code, r.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  await clone?.stop();
  await golden?.stop();
  web?.stop();
  sb?.cleanup();
});

describe("clone of a captured golden node onto diskful VMs", () => {
  test("--dry-run prints the disk plan and changes nothing; a too-small disk size is refused with the bytes", async () => {
    let r = await sb.run(
      "node",
      "set",
      "cn01",
      "groups=compute,all",
      "netboot=xnba",
      "arch=x86_64",
      "mac=52:54:00:12:34:11",
      "ip=127.0.0.1",
      "serialport=0",
      "serialspeed=115200",
    );
    expect(r.code).toBe(0);
    r = await sb.run("clone", "cn01", "-o", IMAGE, "--dry-run", "--disk-size", "5G");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("GPT on a 5.0 GiB disk");
    expect(r.stdout).toMatch(/ext4 \/ .*grows/);
    expect(r.stdout).toContain("cn01: would clone golden-vm (xnba)");
    expect((await sb.run("node", "show", "cn01")).stdout).not.toContain("provmethod=");
    r = await sb.run("clone", "cn01", "-o", IMAGE, "--dry-run", "--disk-size", "300M");
    expect(r.stdout).toMatch(/does not fit: the disk has 314572800 bytes .*needs at least \d+ bytes/);
  }, 120_000);

  test("a blank disk twice the golden size: PXE, partition, copy, GRUB, identity, then it boots from its disk", async () => {
    cloneDisk = blankDisk("cn01.img", 2 * GOLDEN_DISK);
    // overrides (seed 000): the group's tree, then the node's, which wins; a private (0700)
    // override directory must not change the mode of the clone's /
    const ov = join(sb.installdir, "sysclone/overrides");
    mkdirSync(join(ov, "compute/etc"), { recursive: true });
    mkdirSync(join(ov, "cn01/etc"), { recursive: true });
    writeFileSync(join(ov, "compute/etc/xcimg-override"), "group\n");
    writeFileSync(join(ov, "compute/etc/xcimg-group-only"), "group\n");
    writeFileSync(join(ov, "cn01/etc/xcimg-override"), "node\n");
    chmodSync(join(ov, "compute"), 0o700);
    // a postscript with arguments runs in the new system at clone time; a postbootscript at
    // the clone's first boot from its disk
    const ps = join(sb.installdir, "postscripts");
    mkdirSync(ps, { recursive: true });
    writeFileSync(join(ps, "xcimg-mark"), '#!/bin/sh\necho "$0 $* node=$NODE state=$NODESETSTATE" >>/etc/xcimg-marks\n', { mode: 0o755 });
    let r = await sb.run("node", "set", "cn01", "postscripts=xcimg-mark post $HOME", "postbootscripts=xcimg-mark firstboot");
    expect(r.code, r.stderr).toBe(0);
    // the image's synclist, applied at clone time after the overrides (it wins over the group's file)
    const sync = join(sb.installdir, "custom/clone-sync");
    mkdirSync(sync, { recursive: true });
    writeFileSync(join(sync, "synced"), "synclist\n");
    writeFileSync(join(sync, "clone.synclist"), `${sync}/synced -> /etc/xcimg-synced\n${sync}/synced -> /etc/xcimg-group-only\n`);
    r = await sb.run("image", "set", IMAGE, `synclists=${join(sync, "clone.synclist")}`);
    expect(r.code, r.stderr).toBe(0);
    r = await sb.run("clone", "cn01", "-o", IMAGE);
    expect(r.code, r.stderr).toBe(0);
    console.error(r.stdout);
    expect(r.stdout).toContain("cn01: sysclone debian12-x86_64 (job ");
    clonePort = await freePort();
    const started = performance.now();
    clone = new Vm({
      tftpdir: sb.tftpdir,
      bootfile: "xcat/xnba/nodes/cn01",
      mac: "52:54:00:12:34:11",
      sshPort: clonePort,
      memMiB: 1536,
      disk: cloneDisk,
      reboot: true,
    });
    r = await sb.run("clone", "cn01", "--wait", "--timeout", "1500", "--port", String(clonePort));
    const ours = clone.console.split(/\r?\n/).filter((l) => /xcimg(-clone)?:/.test(l));
    console.error(ours.join("\n"));
    if (r.code !== 0) console.error(clone.console.slice(-6000));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/cn01: booted/);
    // --wait logs each change of a node's state: the copy is long enough to be seen with its percent
    expect(r.stderr).toMatch(/cn01: copying \d+%/);
    console.error(`PXE to clone booted from its disk: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    // one clone only: the second network boot found "exit" and went on to the disk
    expect(clone.console.match(/xcimg-clone: starting/g)?.length).toBe(1);
    const show = await sb.run("node", "show", "cn01");
    expect(show.stdout).toContain("currstate=boot");
    expect(show.stdout).toMatch(/status=booted/);

    const t = target("cn01", "52:54:00:12:34:11");
    const info = golden.info;
    const out = await ssh(
      t,
      clonePort,
      [
        "hostname",
        "findmnt -n -o SOURCE,FSTYPE /",
        "blkid -s UUID -o value $(findmnt -n -o SOURCE /)",
        "cat /etc/fstab",
        "getcap /usr/local/bin/xcimg-probe",
        "getfattr --only-values -n user.xcimg /usr/local/bin/xcimg-probe; echo",
        "stat -c %h /usr/local/bin/xcimg-probe",
        "du -k /var/tmp/sparse | cut -f1; stat -c %s /var/tmp/sparse",
        "df -B1 --output=size / | tail -1",
        "swapon --show=NAME,UUID --noheadings; blkid -s UUID -o value $(swapon --show=NAME --noheadings)",
        "cat /etc/machine-id",
        "cat /etc/xcimg-golden",
        'test -f /boot/grub/grub.cfg && grep -c "$(blkid -s UUID -o value $(findmnt -n -o SOURCE /))" /boot/grub/grub.cfg',
        "cat /etc/xcimg-override /etc/xcimg-group-only; stat -c %a /",
        // the first boot's unit may still be running when SSH answers
        "for i in $(seq 150); do test -f /var/lib/xcimg/postbootscripts.done && break; sleep 1; done; cat /etc/xcimg-marks /var/lib/xcimg/postbootscripts.done",
        "cat /etc/xcimg-synced",
      ].join("; echo @@; "),
    );
    expect(out.code, out.err).toBe(0);
    const parts = out.out.split("@@\n").map((s) => s.trim());
    expect(parts[0]).toBe("cn01");
    expect(parts[1]).toMatch(/^\/dev\/vda\d ext4$/);
    const rootUuid = parts[2] as string;
    expect(rootUuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(rootUuid).not.toBe(info.rootUuid);
    expect(parts[3]).toContain(`UUID=${rootUuid} / ext4`);
    expect(parts[3]).not.toContain(info.rootUuid);
    expect(parts[3]).not.toContain(info.swapUuid);
    expect(parts[3]).not.toContain(info.espUuid);
    expect(parts[4]).toMatch(/cap_net_raw[=+]ep/);
    expect(parts[5]).toBe("kept");
    expect(parts[6]).toBe("2");
    const [sparseKiB, sparseSize] = (parts[7] as string).split("\n").map(Number);
    expect(sparseSize).toBe(64 * 1024 * 1024 + 3);
    expect(sparseKiB).toBeLessThan(1024);
    // the root filesystem grew into the larger disk: more than the golden disk holds in all
    expect(Number(parts[8])).toBeGreaterThan(GOLDEN_DISK);
    expect(parts[9]).not.toContain(info.swapUuid);
    expect(parts[9]).toMatch(/\/dev\/vda\d/);
    expect(parts[10]).toMatch(/^[0-9a-f]{32}$/);
    expect(parts[11]).toBe("probe");
    expect(Number(parts[12])).toBeGreaterThan(0);
    expect(parts[13]).toBe("node\nsynclist\n755"); // the synclist's copy replaced the group override's
    expect(parts[14]).toMatch(/^\.\/xcimg-mark post \$HOME node=cn01 state=install\n\.\/xcimg-mark firstboot node=cn01 state=boot\nfinished=\S+\nfailed=$/);
    expect(parts[15]).toBe("synclist");
  }, 1_800_000);

  test("a UEFI node with Secure Boot enforced: shim → signed GRUB over the network, the signed chain onto its ESP, then it boots from its disk", async () => {
    await clone?.stop(); // keep the cores for this one; cn01's disk stays for the update test
    clone = null;
    const disk = blankDisk("cn03.img", GOLDEN_DISK + 512 * 1024 * 1024);
    let r = await sb.run(
      "node",
      "set",
      "cn03",
      "groups=compute,all",
      "netboot=grub2",
      "arch=x86_64",
      "mac=52:54:00:12:34:13",
      "ip=127.0.0.1",
      "serialport=0",
      "serialspeed=115200",
    );
    expect(r.code).toBe(0);
    r = await sb.run("clone", "cn03", "-o", IMAGE);
    expect(r.code, r.stderr).toBe(0);
    // the site's signed network chain (docs/boot.md "Secure Boot"): Debian's shim and netboot GRUB
    installSignedNetChain(sb.tftpdir);
    const vars = join(sb.dir, "cn03-vars.fd");
    copyFileSync(OVMF_MS_VARS, vars); // Microsoft's keys enrolled, Secure Boot on
    const port = await freePort();
    const started = performance.now();
    const vm = new Vm({
      tftpdir: sb.tftpdir,
      bootfile: "shimx64.efi",
      mac: "52:54:00:12:34:13",
      sshPort: port,
      memMiB: 1536,
      disk,
      reboot: true,
      firmware: "uefi",
      secureBootVars: vars,
    });
    try {
      r = await sb.run("clone", "cn03", "--wait", "--timeout", "1500", "--port", String(port));
      console.error(
        vm.console
          .split(/\r?\n/)
          .filter((l) => /xcimg(-clone)?:|Secure boot/.test(l))
          .join("\n"),
      );
      if (r.code !== 0) console.error(vm.console.slice(-6000));
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/cn03: booted/);
      console.error(`UEFI Secure Boot: PXE to clone booted from its disk: ${((performance.now() - started) / 1000).toFixed(0)} s`);
      // the clone environment came up through the signed network chain, the clone from its disk's
      expect(vm.console.match(/Secure boot enabled/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
      const out = await ssh(
        target("cn03", "52:54:00:12:34:13"),
        port,
        [
          "hostname",
          "test -d /sys/firmware/efi && echo uefi",
          // the SecureBoot variable's last byte: 1 when the firmware enforces it
          "od -An -tu1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c | awk '{print $NF}'",
          "dmesg | grep -c 'Secure boot enabled'",
          "ls /boot/efi/EFI/BOOT/ /boot/efi/EFI/debian/",
          "findmnt -n -o FSTYPE /boot/efi",
        ].join("; echo @@; "),
      );
      expect(out.code, out.err).toBe(0);
      const parts = out.out.split("@@\n").map((p) => p.trim());
      expect(parts[0]).toBe("cn03");
      expect(parts[1]).toBe("uefi");
      expect(parts[2]).toBe("1");
      expect(Number(parts[3])).toBeGreaterThan(0);
      // the removable path starts shim (BOOTX64.EFI), which loads the signed GRUB beside it
      expect(parts[4]).toMatch(/BOOTX64\.EFI/i);
      expect(parts[4]).toMatch(/grubx64\.efi/);
      expect(parts[4]).toMatch(/shimx64\.efi/);
      expect(parts[5]).toBe("vfat");
    } finally {
      await vm.stop();
    }
  }, 1_800_000);

  test("a disk too small for the image: the node stops with needed and available bytes, and the disk is untouched", async () => {
    const small = blankDisk("cn02.img", 400 * 1024 * 1024);
    let r = await sb.run(
      "node",
      "set",
      "cn02",
      "groups=compute,all",
      "netboot=xnba",
      "arch=x86_64",
      "mac=52:54:00:12:34:12",
      "ip=127.0.0.1",
      "serialport=0",
      "serialspeed=115200",
    );
    expect(r.code).toBe(0);
    r = await sb.run("clone", "cn02", "-o", IMAGE);
    expect(r.code, r.stderr).toBe(0);
    const port = await freePort();
    const vm = new Vm({
      tftpdir: sb.tftpdir,
      bootfile: "xcat/xnba/nodes/cn02",
      mac: "52:54:00:12:34:12",
      sshPort: port,
      memMiB: 1536,
      disk: small,
      reboot: true,
    });
    try {
      const failed = await vm.waitFor(/xcimg-clone: failed: ([^\r\n]*)\r?\n/, 900_000);
      if (!failed) console.error(vm.console.slice(-6000));
      expect(failed?.[1]).toMatch(/has 419430400 bytes .*needs at least \d+ bytes/);
      expect(failed?.[1]).toContain("not touched");
      r = await sb.run("clone", "cn02", "--status", "--port", String(port));
      expect(r.code).not.toBe(0);
      expect(r.stdout).toMatch(/cn02: failed/);
      expect(r.stdout).toContain("419430400");
    } finally {
      await vm.stop();
    }
    expect(statSync(small).size).toBe(400 * 1024 * 1024);
    expect(allZero(small)).toBe(true);
  }, 1_200_000);

  test("update in place: a file added on the golden node reaches the running clone, whose identity stays", async () => {
    clonePort = await freePort();
    clone = new Vm({
      tftpdir: sb.tftpdir,
      bootfile: "xcat/xnba/nodes/cn01",
      mac: "52:54:00:12:34:11",
      sshPort: clonePort,
      memMiB: 1024,
      disk: cloneDisk,
      reboot: true,
    });
    const t = target("cn01", "52:54:00:12:34:11");
    let before = { code: -1, out: "", err: "" };
    for (let i = 0; i < 120 && before.code !== 0; i++) {
      before = await ssh(t, clonePort, "hostname; cat /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub");
      if (before.code !== 0) await Bun.sleep(3000);
    }
    expect(before.code, before.err).toBe(0);
    await onGolden("date >/update.flag; rm /etc/xcimg-golden");
    let r = await sb.run("--json", "capture", "golden", "-t", "sysclone", "-o", IMAGE);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).level).toBe("incremental");
    r = await sb.run("clone", "cn01", "-o", IMAGE, "--update", "--dry-run", "--port", String(clonePort));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("update.flag");
    expect(r.stdout).toContain("etc/xcimg-golden");
    expect((await ssh(t, clonePort, "test ! -e /update.flag")).code).toBe(0);
    r = await sb.run("clone", "cn01", "-o", IMAGE, "--update", "--port", String(clonePort));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    console.error(r.stdout);
    const after = await ssh(
      t,
      clonePort,
      "hostname; cat /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub; test -f /update.flag && echo flag; test -e /etc/xcimg-golden || echo gone; test -x /xcatpost/xcimg-mark && echo xcatpost kept",
    );
    expect(after.code, after.err).toBe(0);
    // strict host key checking against xcimg's known hosts already proves the key; compare too
    expect(after.out).toBe(`${before.out}flag\ngone\nxcatpost kept\n`);
  }, 1_200_000);
});
