import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type StaticServer, serveStatic } from "../helpers/http-serve";
import { bootVm } from "../helpers/qemu";
import { ROOT, Sandbox } from "../helpers/sandbox";

/**
 * A Debian 12 image built by `xcimg genimage` from this machine's Debian mirror PXE-boots a
 * node that reaches systemd's userspace as itself, on a tmpfs root. The packages are Debian's
 * (systemd-sysv, kmod); the kernel is the Debian cloud kernel of .cache/fixtures, put into the
 * tree by a postinstall script (installing linux-image-* would spend minutes in initramfs-tools
 * building an initrd xcimg does not use: pack makes its own). A unit the postinstall adds prints
 * the line the boot tests look for.
 */
let sb: Sandbox;
let server: StaticServer;
const IMG = "debian12-x86_64-netboot-compute";

beforeAll(() => {
  if (!existsSync(join(ROOT, ".cache/fixtures/vmlinuz"))) throw new Error("no test kernel: run scripts/fixtures.sh (scripts/test.sh does)");
  sb = new Sandbox("genimage-boot");
  const cache = join(ROOT, ".cache", "genimage-test");
  mkdirSync(cache, { recursive: true, mode: 0o700 });
  symlinkSync(cache, join(sb.installdir, ".cache"));
  server = serveStatic({ "/tftpboot": sb.tftpdir, "/install": sb.installdir });
  appendFileSync(sb.config, `[http]\nport = ${server.port}\n`);
  const fx = join(ROOT, ".cache/fixtures");
  writeFileSync(join(sb.dir, "boot.pkglist"), "systemd-sysv\nkmod\n");
  writeFileSync(
    join(sb.dir, "kernel.sh"),
    `#!/bin/sh
set -e
T=$1
ver=$(cat ${fx}/kernel-version)
mkdir -p "$T/boot" "$T/lib/modules"
cp ${fx}/vmlinuz "$T/boot/vmlinuz-$ver"
cp -a ${fx}/modules/$ver "$T/lib/modules/"
depmod -b "$T" "$ver"
cat > "$T/etc/systemd/system/xcimg-node.service" <<'UNIT'
[Unit]
Description=print the line the boot tests wait for
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "xcimg-node: hostname=$(cat /proc/sys/kernel/hostname) root=$(stat -f -c %%T /) init=$(cat /proc/1/comm)" > /dev/ttyS0'
[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$T/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/xcimg-node.service "$T/etc/systemd/system/multi-user.target.wants/xcimg-node.service"
`,
    { mode: 0o755 },
  );
});
afterAll(() => {
  server?.stop();
  sb?.cleanup();
});

describe("genimage → pack → boot in qemu", () => {
  test("the Debian image built from packages boots to systemd on a tmpfs root as cn01", async () => {
    let r = await sb.bin([
      "image",
      "set",
      IMG,
      "osvers=debian12",
      "osarch=x86_64",
      "profile=compute",
      "provmethod=netboot",
      `pkglist=${join(sb.dir, "boot.pkglist")}`,
      `postinstall=${join(sb.dir, "kernel.sh")}`,
    ]);
    expect(r.code).toBe(0);
    r = await sb.bin(["genimage", IMG]);
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    const ver = readFileSync(join(ROOT, ".cache/fixtures/kernel-version"), "utf8").trim();
    expect(r.stdout).toContain(`kernel ${ver}`);
    r = await sb.bin(["pack", IMG]);
    expect(r.code, r.stderr).toBe(0);
    r = await sb.bin([
      "node",
      "set",
      "cn01",
      "groups=compute,all",
      "netboot=xnba",
      "arch=x86_64",
      "mac=52:54:00:12:34:01",
      "serialport=0",
      "serialspeed=115200",
    ]);
    expect(r.code).toBe(0);
    r = await sb.bin(["boot", "cn01", "-o", IMG]);
    expect(r.code, r.stderr).toBe(0);
    const vm = await bootVm({
      tftpdir: sb.tftpdir,
      bootfile: "xcat/xnba/nodes/cn01",
      mac: "52:54:00:12:34:01",
      until: /xcimg-node: [^\r\n]*[\r\n]/,
      timeoutMs: 420_000,
    });
    console.log(`genimage Debian 12 (systemd): userspace after ${vm.seconds.toFixed(1)} s`);
    if (!vm.match) console.log(`${vm.exit}\n${vm.console.slice(-4000)}`);
    expect(vm.match?.[0]).toMatch(/^xcimg-node: hostname=cn01 root=tmpfs init=systemd\s$/);
  }, 900_000);
});
