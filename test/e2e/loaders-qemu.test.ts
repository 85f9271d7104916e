import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { type NetbootSite, netbootSite } from "../helpers/netboot-site";
import { bootVm } from "../helpers/qemu";

/**
 * The other two boot loaders xcimg writes, booted for real: GRUB2 on UEFI (OVMF firmware,
 * Debian's signed-less grub-efi netboot image made with grub-mknetdir, config found by the
 * node's MAC) and pxelinux on BIOS (syslinux's pxelinux.0, config found by 01-<mac>). Both
 * load kernel and initrds over TFTP. The loader binaries are site setup, as with xCAT
 * (docs/boot.md). About 20 s + 15 s under TCG.
 */
let site: NetbootSite;
beforeAll(async () => {
  site = await netbootSite("loaders-qemu");
  const r = await site.sb.run("pack", site.image);
  if (r.code !== 0) throw new Error(r.stderr);
  execFileSync("grub-mknetdir", [`--net-directory=${site.sb.tftpdir}`, "--subdir=boot/grub2", "-d", "/usr/lib/grub/x86_64-efi"], { stdio: "ignore" });
  copyFileSync("/usr/lib/PXELINUX/pxelinux.0", join(site.sb.tftpdir, "pxelinux.0"));
  copyFileSync("/usr/lib/syslinux/modules/bios/ldlinux.c32", join(site.sb.tftpdir, "ldlinux.c32"));
});
afterAll(() => site.cleanup());

const UNTIL = /xcimg-node: [^\r\n]*[\r\n]/;

describe("other boot loaders in qemu", () => {
  test("grub2 on UEFI (OVMF): grub.cfg-01-<mac>, linuxefi/initrdefi over TFTP", async () => {
    const { sb, image } = site;
    await sb.run(
      "node",
      "set",
      "cn02",
      "groups=compute,all",
      "netboot=grub2",
      "arch=x86_64",
      "mac=52:54:00:12:34:02",
      "ip=10.0.2.15",
      "serialport=0",
      "serialspeed=115200",
    );
    const r = await sb.run("boot", "cn02", "-o", image);
    expect(r.code, r.stderr).toBe(0);
    const vm = await bootVm({
      tftpdir: sb.tftpdir,
      bootfile: "boot/grub2/x86_64-efi/core.efi",
      mac: "52:54:00:12:34:02",
      until: UNTIL,
      timeoutMs: 150000,
      firmware: "uefi",
    });
    console.log(`netboot (GRUB2, UEFI): userspace after ${vm.seconds.toFixed(1)} s`);
    if (!vm.match) console.log(`${vm.exit}\n${vm.console.slice(-3000)}`);
    expect(vm.match?.[0]).toMatch(/^xcimg-node: hostname=cn02 root=tmpfs ip=10\.0\.2\.15\/24\s$/);
  }, 200000);

  test("pxelinux on BIOS: pxelinux.cfg/01-<mac>, three initrds over TFTP", async () => {
    const { sb, image } = site;
    await sb.run(
      "node",
      "set",
      "cn03",
      "groups=compute,all",
      "netboot=pxe",
      "arch=x86_64",
      "mac=52:54:00:12:34:03",
      "ip=10.0.2.15",
      "serialport=0",
      "serialspeed=115200",
    );
    const r = await sb.run("boot", "cn03", "-o", image);
    expect(r.code, r.stderr).toBe(0);
    const vm = await bootVm({ tftpdir: sb.tftpdir, bootfile: "pxelinux.0", mac: "52:54:00:12:34:03", until: UNTIL, timeoutMs: 150000 });
    console.log(`netboot (pxelinux, BIOS): userspace after ${vm.seconds.toFixed(1)} s`);
    if (!vm.match) console.log(`${vm.exit}\n${vm.console.slice(-3000)}`);
    expect(vm.match?.[0]).toMatch(/^xcimg-node: hostname=cn03 root=tmpfs ip=10\.0\.2\.15\/24\s$/);
  }, 200000);
});
