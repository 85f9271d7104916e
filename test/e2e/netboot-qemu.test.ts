import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { appendFileSync, chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type NetbootSite, netbootSite } from "../helpers/netboot-site";
import { bootVm } from "../helpers/qemu";
import { ROOT } from "../helpers/sandbox";

/**
 * Every CI run: a packed image PXE-boots a real (virtual) node from the files xcimg wrote.
 * qemu's iPXE ROM gets DHCP and the node's iPXE script from qemu's user-mode network (its
 * built-in TFTP serves tftpdir), fetches kernel, image, boot initrd and overlay over HTTP from
 * a plain static web server (no xcimg process), and the node must reach userspace as itself,
 * on a tmpfs root, with the address DHCP gave it. About 10 s under TCG.
 */
let site: NetbootSite;
beforeAll(async () => {
  site = await netbootSite("netboot-qemu");
});
afterAll(() => site.cleanup());

describe("netboot in qemu", () => {
  test("pack + boot: the node comes up as cn01 on a tmpfs root, its network up via DHCP", async () => {
    const { sb, image } = site;
    let r = await sb.run("pack", image);
    expect(r.code, r.stderr).toBe(0);
    // more than one gzip member: the kernel must take xcimg's parallel output
    const packed = readFileSync(join(site.dir, "rootimg.cpio.gz"));
    expect(packed.indexOf(Buffer.from("1f8b08000000000000ff", "hex"), 10)).toBeGreaterThan(0);
    r = await sb.run("node", "set", "cn01", "groups=compute,all", "netboot=xnba", "arch=x86_64", "mac=52:54:00:12:34:01", "serialport=0", "serialspeed=115200");
    expect(r.code).toBe(0);
    r = await sb.run("boot", "cn01", "-o", image);
    expect(r.code, r.stderr).toBe(0);

    const vm = await bootVm({
      tftpdir: sb.tftpdir,
      bootfile: "xcat/xnba/nodes/cn01",
      mac: "52:54:00:12:34:01",
      until: /xcimg-node: [^\r\n]*[\r\n]/,
      timeoutMs: 120000,
    });
    console.log(`netboot (iPXE, BIOS): userspace after ${vm.seconds.toFixed(1)} s`);
    if (!vm.match) console.log(`${vm.exit}\n${vm.console.slice(-3000)}`);
    expect(vm.match?.[0]).toMatch(/^xcimg-node: hostname=cn01 root=tmpfs ip=10\.0\.2\.15\/24\s$/);
    expect(vm.console).toContain("xcimg: node cn01, image bb-x86_64-netboot-compute");
    expect(vm.console).toMatch(/xcimg: root is a tmpfs holding \d+ MiB; starting \/sbin\/init/);
    expect(site.server.log).toEqual([
      `/tftpboot/xcat/osimage/${image}/kernel`,
      `/tftpboot/xcat/osimage/${image}/rootimg.cpio.gz`,
      `/tftpboot/xcat/osimage/${image}/initrd-stateless.gz`,
      "/tftpboot/xcat/overlay/cn01.cpio",
    ]);
  }, 180000);

  test("postscripts: the node fetches the site's scripts over HTTP and runs them with $NODE, $MASTER and their arguments, then its postbootscripts", async () => {
    const { sb, image } = site;
    const ps = join(sb.installdir, "postscripts");
    mkdirSync(ps, { recursive: true });
    const script = (name: string, body: string) => {
      writeFileSync(join(ps, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(ps, name), 0o755);
    };
    // a site's scripts as they are in xCAT's /install/postscripts: they print to the console
    script("sitepost", 'echo "site-postscript node=$NODE master=$MASTER arg=$1 state=$NODESETSTATE" >/dev/console');
    script("firstboot", 'echo "site-postbootscript node=$NODE os=$OSVER" >/dev/console');
    script("broken", 'echo "site-broken runs" >/dev/console; exit 5');
    // what xcimg's own syslog (a built-in, not a file here) left running: busybox syslogd forwarding
    script("checksyslog", 'echo "site-check syslogd-forwarding=$(ps w | grep -c "[s]yslogd -R $MASTER")" >/dev/console');
    const boot = async (postscripts: string) => {
      let r = await sb.run("node", "set", "cn01", `postscripts=${postscripts}`, "postbootscripts=firstboot");
      expect(r.code, r.stderr).toBe(0);
      r = await sb.run("boot", "cn01", "-o", image);
      expect(r.code, r.stderr).toBe(0);
      const vm = await bootVm({
        tftpdir: sb.tftpdir,
        bootfile: "xcat/xnba/nodes/cn01",
        mac: "52:54:00:12:34:01",
        until: /xcimg: postscripts done[^\r\n]*[\r\n]/,
        timeoutMs: 150000,
      });
      console.log(`netboot postscripts: done after ${vm.seconds.toFixed(1)} s`);
      if (!vm.match) console.log(`${vm.exit}\n${vm.console.slice(-3000)}`);
      return vm;
    };
    let vm = await boot("syslog,sitepost hello-arg,checksyslog");
    expect(vm.console).toContain("site-postscript node=cn01 master=10.0.2.2 arg=hello-arg state=netboot");
    expect(vm.console).toContain("site-postbootscript node=cn01 os=bb1");
    // the kernel's own console messages can land in the middle of the line: "booted" then one of them
    expect(vm.match?.[0]).toMatch(/^xcimg: postscripts done: booted(\s|\[ *\d+\.\d+\] )/);
    expect(vm.console.indexOf("site-postscript")).toBeLessThan(vm.console.indexOf("site-postbootscript"));
    expect(site.server.log).toContain("/install/postscripts/sitepost");
    expect(vm.console).toContain("site-check syslogd-forwarding=1");
    expect(site.server.log).not.toContain("/install/postscripts/syslog");

    vm = await boot("broken,sitepost after-broken");
    expect(vm.console).toContain("site-broken runs");
    expect(vm.console).toContain("site-postscript node=cn01 master=10.0.2.2 arg=after-broken");
    expect(vm.console).toContain("xcimg: postscript broken failed (exit 5");
    expect(vm.match?.[0]).toMatch(/^xcimg: postscripts done, failed: broken /);
  }, 400000);

  test("squashfs, then tar: two-stage boots that fetch imgurl=, keep file capabilities (non-root ping), and pack replaces the cpio archive only with one that boots", async () => {
    const { sb, image, dir } = site;
    const tree = join(dir, "rootimg");
    let r = await sb.run(
      "node",
      "set",
      "cn01",
      "groups=compute,all",
      "netboot=xnba",
      "arch=x86_64",
      "mac=52:54:00:12:34:01",
      "serialport=0",
      "serialspeed=115200",
    );
    expect(r.code, r.stderr).toBe(0);
    // what a squashfs root needs of the image's kernel, as a distribution kernel package ships it
    const ver = readFileSync(join(ROOT, ".cache/fixtures/kernel-version"), "utf8").trim();
    for (const m of ["fs/squashfs", "fs/overlayfs", "drivers/block/loop.ko"]) {
      cpSync(join(ROOT, ".cache/fixtures/modules", ver, "kernel", m), join(tree, "lib/modules", ver, "kernel", m), { recursive: true });
    }
    execFileSync("depmod", ["-b", tree, ver]);
    // xCAT's test (#922): ping as a non-root user works only through the file capability
    copyFileSync(join(tree, "bin/busybox"), join(tree, "bin/busybox-cap"));
    execFileSync("setcap", ["cap_net_raw+ep", join(tree, "bin/busybox-cap")]);
    appendFileSync(join(tree, "etc/passwd"), "nobody:x:65534:65534:nobody:/:/bin/sh\n");
    appendFileSync(join(tree, "etc/group"), "nogroup:x:65534:\n");
    const ping = (bb: string) => `$(su -s /bin/sh nobody -c '${bb} ping -c 1 -W 2 127.0.0.1' >/dev/null 2>&1 && echo ok || echo denied)`;
    appendFileSync(
      join(tree, "etc/init.d/rcS"),
      `ip link set lo up\necho "xcimg-caps: plain=${ping("/bin/busybox")} capped=${ping("/bin/busybox-cap")} root=$root"\n`,
    );

    const bootOnce = async (archive: string, label: string) => {
      const r = await sb.run("boot", "cn01", "-o", image);
      expect(r.code, r.stderr).toBe(0);
      const script = readFileSync(join(sb.tftpdir, "xcat/xnba/nodes/cn01"), "utf8");
      expect(script).toContain(`/netboot/bb1/x86_64/compute/${archive} `);
      expect(script).toContain("initrd-fetch.gz");
      expect(script).not.toContain("initrd-stateless.gz");
      const from = site.server.log.length;
      const vm = await bootVm({
        tftpdir: sb.tftpdir,
        bootfile: "xcat/xnba/nodes/cn01",
        mac: "52:54:00:12:34:01",
        until: /xcimg-caps: [^\r\n]*[\r\n]/,
        timeoutMs: 150000,
      });
      console.log(`netboot ${label} (two stages): userspace after ${vm.seconds.toFixed(1)} s`);
      if (!vm.match) console.log(`${vm.exit}\n${vm.console.slice(-4000)}`);
      expect(vm.console).toMatch(/xcimg-node: hostname=cn01 root=\S+ ip=10\.0\.2\.15\/24/);
      expect(site.server.log.slice(from)).toEqual([
        `/tftpboot/xcat/osimage/${image}/kernel`,
        `/tftpboot/xcat/osimage/${image}/initrd-fetch.gz`,
        "/tftpboot/xcat/overlay/cn01.cpio",
        `/install/netboot/bb1/x86_64/compute/${archive}`,
        ...site.server.log.slice(from + 4).filter((p) => p.startsWith("/install/postscripts/")),
      ]);
      return vm;
    };

    // the kernel stays out of the archive, as xCAT's exlists leave ./boot* out: less to fetch and unpack under TCG
    writeFileSync(join(sb.dir, "noboot.exlist"), "./boot/*\n");
    r = await sb.run("image", "set", image, `exlist=${join(sb.dir, "noboot.exlist")}`);
    expect(r.code, r.stderr).toBe(0);
    r = await sb.run("pack", image, "-m", "squashfs");
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, "rootimg.cpio.gz"))).toBe(false); // replaced: the squashfs image boots
    let vm = await bootOnce("rootimg.sfs", "squashfs");
    expect(vm.console).toContain("xcimg: root is the squashfs image under an overlayfs");
    expect(vm.match?.[0]).toMatch(/^xcimg-caps: plain=denied capped=ok root=overlay\s$/);

    r = await sb.run("pack", image, "-m", "tar");
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, "rootimg.sfs"))).toBe(false);
    vm = await bootOnce("rootimg.tar.gz", "tar");
    expect(vm.console).toMatch(/xcimg: root is a tmpfs holding \d+ MiB/);
    expect(vm.match?.[0]).toMatch(/^xcimg-caps: plain=denied capped=ok root=tmpfs\s$/);
  }, 400000);
});
