import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDb } from "../../src/core/db/open";
import { createPasswdTable } from "../helpers/install-site";
import { type Nginx, startNginx } from "../helpers/nginx";
import { Vm } from "../helpers/qemu";
import { ROOT, Sandbox } from "../helpers/sandbox";
import { freePort } from "../helpers/sshd";

/**
 * The real debian-installer (Debian's debian-installer-12-netboot-amd64, fetched by
 * scripts/fixtures.sh) network-boots in qemu from what `xcimg boot -o <install image>` wrote:
 * qemu's iPXE ROM gets DHCP and the node's xnba script over TFTP from tftpdir, fetches the
 * installer kernel and initrd over HTTP from a static server on 127.0.0.1 (10.0.2.2 to the
 * guest), the installer gets its address, fetches the node's preseed from installdir and runs
 * it: the preseed's early command writes a line rendered for this node to the console.
 *
 * The same boot then plays the end of an install: the early command fetches the node's +post
 * (the URL the template renders) from a real nginx and runs it inside the installer itself
 * (`sh +post /`, as a kickstart %post runs it), so a site postscript runs with its arguments
 * and xcimg's variables, the first-boot script runs the postbootscript and reports booted, and
 * the installer PUTs its marker with busybox nc into nginx's WebDAV location. It then resets
 * the VM: the next network boot finds the marker, iPXE exits, and the BIOS boots the disk (a
 * boot sector that prints a line), not the installer again. A full debootstrap install needs a
 * Debian mirror this machine does not have; `xcimg node status` over SSH against an installed
 * root is proven by test/provmethods/install/post-install.test.ts.
 */
const DI = join(ROOT, ".cache", "fixtures", "d-i");
const MARK = "XCIMG-PRESEED-LOADED";
const DISK_BOOTED = "XCIMG-DISK-BOOTED";

let sb: Sandbox | undefined;
let http: Nginx | undefined;
let vm: Vm | undefined;
afterAll(async () => {
  await vm?.stop();
  await http?.stop();
  sb?.cleanup();
});

/** A 1 MiB disk whose boot sector writes DISK_BOOTED to COM1 and halts: proof the BIOS booted the disk. */
function markerDisk(file: string): void {
  const code = [0x31, 0xc0, 0x8e, 0xd8, 0xfc, 0xba, 0xf8, 0x03, 0xbe, 0x18, 0x7c, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xfa, 0xf4, 0xeb, 0xfd, 0x90];
  const disk = Buffer.alloc(1 << 20);
  Buffer.from(code).copy(disk, 0);
  Buffer.from(`${DISK_BOOTED}\r\n\0`).copy(disk, 0x18);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  writeFileSync(file, disk);
}

describe("install provmethod in qemu", () => {
  test("debian-installer PXE-boots from xcimg's files, loads the node's preseed, runs its postscripts, marks itself installed; the reset boots the disk", async () => {
    if (!existsSync(join(DI, "linux"))) throw new Error(`${DI}/linux missing: run 'bash scripts/fixtures.sh' first`);
    sb = new Sandbox("dipxe");
    chmodSync(sb.dir, 0o755); // nginx's workers (www-data) traverse the sandbox
    const port = await freePort();
    appendFileSync(sb.config, `[http]\nport = ${port}\n`);

    // media: a Debian tree with the netboot installer where copied media keeps it
    const media = join(sb.installdir, "debian12", "x86_64");
    mkdirSync(join(media, "dists", "bookworm"), { recursive: true });
    writeFileSync(join(media, "dists", "bookworm", "Release"), "Origin: Debian\nVersion: 12\nCodename: bookworm\nArchitectures: amd64\n");
    mkdirSync(join(media, "install", "netboot", "debian-installer", "amd64"), { recursive: true });
    for (const f of ["linux", "initrd.gz"]) symlinkSync(join(DI, f), join(media, "install", "netboot", "debian-installer", "amd64", f));

    const must = async (...argv: string[]) => {
      const r = await sb?.run(...argv);
      if (r?.code !== 0) throw new Error(`xcimg ${argv.join(" ")}: ${r?.stderr}`);
      return r;
    };
    await must("image", "media", media);
    // hosts.ip: what nginx sees the guest as (qemu's user network), so only it may PUT its marker
    await must("node", "set", "cn07", "groups=compute,all", "mac=52:54:00:12:34:07", "ip=127.0.0.1", "serialport=0", "serialspeed=115200");
    await must("node", "set", "cn07", "postscripts=sitepost hello world", "postbootscripts=firstup");
    const ps = join(sb.installdir, "postscripts");
    mkdirSync(ps, { recursive: true });
    writeFileSync(join(ps, "sitepost"), '#!/bin/sh\necho "node=$NODE state=$NODESETSTATE args=$#:$1:$2" >/tmp/sitepost.out\n', { mode: 0o755 });
    writeFileSync(join(ps, "firstup"), '#!/bin/sh\necho "postboot $NODE" >/tmp/firstup.out\n', { mode: 0o755 });
    await must("table", "set", "site", "key=timezone", "value=Europe/Paris");
    const db = openDb(sb.dbPath);
    createPasswdTable(db, [{ key: "system", username: "root", password: "cluster" }]);
    db.close();
    // the site's copy of the default preseed, plus a line that shows on the console when it runs
    const tmpl = join(sb.installdir, "custom", "install", "debian", "compute.tmpl");
    // then the end of install, run inside the installer, and a reset
    const end = [
      "wget -q -O /tmp/xcimg-post.sh #XCATVAR:XCIMG_POST_URL# && sh /tmp/xcimg-post.sh / >/dev/console 2>&1 && sh /etc/xcimg/install-firstboot.sh",
      // one line: both outputs end in a newline
      "echo \"XCIMG-RESULT $(cat /tmp/sitepost.out /tmp/firstup.out | tr '\\n' ' ')$(grep ^state= /run/xcimg/postscripts.status)\" >/dev/console",
      "sleep 1",
      "echo b >/proc/sysrq-trigger",
    ].join("; ");
    appendFileSync(tmpl, `d-i preseed/early_command string echo "${MARK} node=#HOSTNAME# tz=#TABLE:site:key=timezone:value#" > /dev/console; ${end}\n`);

    const boot = await must("boot", "cn07", "-o", "debian12-x86_64-install-compute");
    expect(boot.stdout).toBe("cn07: install debian12-x86_64-compute\n");
    const script = readFileSync(join(sb.tftpdir, "xcat", "xnba", "nodes", "cn07"), "utf8");
    expect(script).toContain(`url=http://10.0.2.2:${port}/install/autoinst/cn07`);
    expect(script).toContain(`imgfetch -n done http://10.0.2.2:${port}/install/xcimg-installed/cn07 && goto done || goto install`);
    expect(readFileSync(join(sb.installdir, "autoinst", "cn07"), "utf8")).toContain(`${MARK} node=cn07 tz=Europe/Paris`);
    http = await startNginx(sb, port);

    const disk = join(sb.dir, "disk.img");
    markerDisk(disk);
    vm = new Vm({ tftpdir: sb.tftpdir, bootfile: "xcat/xnba/nodes/cn07", mac: "52:54:00:12:34:07", disk, reboot: true });
    // up to the end of the line: serial output comes in chunks, and a regex that stops at
    // \S+ can match a half-arrived line ("tz=Europe/Pa")
    const loaded = await vm.waitFor(new RegExp(`${MARK} node=(\\S+) tz=(\\S+)\\r?\\n`), 900_000); // ~90 s on an idle machine; far more on a loaded one
    if (loaded?.[1] !== "cn07") console.error(`${await vm.exitState()}\n${vm.console.slice(-4000)}`);
    expect(loaded?.slice(1)).toEqual(["cn07", "Europe/Paris"]);
    const preseedAt = vm.seconds;
    console.error(`debian-installer ran cn07's preseed ${preseedAt.toFixed(0)} s after power-on`);
    expect(http.log()).toContain('"GET /tftpboot/xcat/osimage/debian12-x86_64-install-compute/vmlinuz HTTP/1.1" 200');
    expect(http.log()).toContain('"GET /tftpboot/xcat/osimage/debian12-x86_64-install-compute/initrd.img HTTP/1.1" 200');
    expect(http.log()).toMatch(/"GET \/install\/autoinst\/cn07 HTTP\/1\.[01]" 200/);

    const result = await vm.waitFor(/XCIMG-RESULT (.*?)\r?\n/, 120_000);
    if (!result) console.error(vm.console.slice(-4000));
    expect(result?.[1]).toBe("node=cn07 state=install args=2:hello:world postboot cn07 state=booted");
    expect(vm.console).toContain(`xcimg-install: installed: marked at http://10.0.2.2:${port}/install/xcimg-installed/cn07`);
    expect(http.log()).toMatch(/"PUT \/install\/xcimg-installed\/cn07 HTTP\/1\.0" 201/);
    expect((await must("boot", "cn07", "--stat")).stdout).toStartWith("cn07: boot (local disk, xnba, installed: ");

    // the reset: the second network boot finds the mark and leaves for the disk
    const booted = await vm.waitFor(new RegExp(DISK_BOOTED), 180_000, vm.console.indexOf("XCIMG-RESULT"));
    if (!booted) console.error(`${await vm.exitState()}\n${vm.console.slice(-4000)}`);
    expect(booted).not.toBeNull();
    const log = http.log();
    expect(log).toMatch(/"GET \/install\/xcimg-installed\/cn07 HTTP\/1\.[01]" 200/);
    expect(log.match(/initrd\.img/g)?.length).toBe(1); // the installer was not loaded again
    console.error(`end of install to the disk's boot sector: ${(vm.seconds - preseedAt).toFixed(0)} s (whole boot ${vm.seconds.toFixed(0)} s)`);
  }, 1_300_000);
});
