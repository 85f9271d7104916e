import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type NetbootSite, netbootSite } from "../helpers/netboot-site";
import { bootVm, OVMF_MS_VARS } from "../helpers/qemu";
import { installSignedNetChain } from "../helpers/secureboot";

/**
 * A node with Secure Boot enforced (OVMF secboot + Microsoft's keys) boots an xcimg image over
 * the network through the signed chain docs/boot.md describes: OVMF checks Debian's shim
 * (signed by Microsoft's UEFI CA), shim checks Debian's netboot GRUB, GRUB in lockdown asks
 * shim to check the kernel (Debian's, signed), then runs xcimg's per-node grub.cfg-01-<mac>.
 * Initrds are not signature-checked by this chain. A kernel whose bytes changed is refused; a
 * GRUB signed by nobody is refused by the firmware itself, which proves enforcement is on.
 * The loader binaries are Debian's, extracted by scripts/fixtures.sh into .cache/secureboot.
 */
let site: NetbootSite;
beforeAll(async () => {
  site = await netbootSite("secureboot-qemu");
  const r = await site.sb.run("pack", site.image);
  if (r.code !== 0) throw new Error(r.stderr);
  installSignedNetChain(site.sb.tftpdir);
});
afterAll(() => site?.cleanup());

const UNTIL = /xcimg-node: [^\r\n]*[\r\n]|bad shim signature|Verification failed|Kernel panic|grub> /;

async function bootNode(node: string, mac: string, afterBoot: () => void = () => {}) {
  const { sb, image } = site;
  const set = await sb.run(
    "node",
    "set",
    node,
    "groups=compute,all",
    "netboot=grub2",
    "arch=x86_64",
    `mac=${mac}`,
    "ip=10.0.2.15",
    "serialport=0",
    "serialspeed=115200",
  );
  expect(set.code, set.stderr).toBe(0);
  const r = await sb.run("boot", node, "-o", image);
  expect(r.code, r.stderr).toBe(0);
  afterBoot();
  const vars = join(sb.dir, `${node}-vars.fd`);
  copyFileSync(OVMF_MS_VARS, vars);
  return bootVm({ tftpdir: sb.tftpdir, bootfile: "shimx64.efi", mac, until: UNTIL, timeoutMs: 240000, firmware: "uefi", secureBootVars: vars });
}

describe("Secure Boot", () => {
  test("shim → signed GRUB → signed kernel boots the image, with the kernel in lockdown", async () => {
    const vm = await bootNode("cn05", "52:54:00:12:34:05");
    console.log(`netboot (Secure Boot, shim + GRUB): userspace after ${vm.seconds.toFixed(1)} s`);
    if (!vm.match?.[0].startsWith("xcimg-node")) console.log(`${vm.exit}\n${vm.console.slice(-4000)}`);
    expect(vm.console).toContain("Secure boot enabled");
    expect(vm.match?.[0]).toMatch(/^xcimg-node: hostname=cn05 root=tmpfs ip=10\.0\.2\.15\/24\s$/);
  }, 300000);

  test("an unsigned GRUB is refused by the firmware itself (enforcement is on), and starts with Secure Boot off", async () => {
    // grub-mknetdir's core.efi: the same GRUB, built here and signed by nobody
    const t = site.sb.tftpdir;
    execFileSync("grub-mknetdir", [`--net-directory=${t}`, "--subdir=unsigned", "-d", "/usr/lib/grub/x86_64-efi"], { stdio: "ignore" });
    const vars = join(site.sb.dir, "unsigned-vars.fd");
    copyFileSync(OVMF_MS_VARS, vars);
    const boot = (secureBootVars?: string) =>
      bootVm({
        tftpdir: t,
        bootfile: "unsigned/x86_64-efi/core.efi",
        mac: "52:54:00:12:34:07",
        until: /Access Denied|Welcome to GRUB|grub> /,
        timeoutMs: 120000,
        firmware: "uefi",
        secureBootVars,
        nicRom: false,
      });
    const refused = await boot(vars);
    if (refused.match?.[0] !== "Access Denied") console.log(`${refused.exit}\n${refused.console.slice(-3000)}`);
    expect(refused.match?.[0]).toBe("Access Denied");
    expect(refused.console).toMatch(/BdsDxe: failed to load Boot\d+ "UEFI PXEv4[^\n]*: Access Denied/);
    const off = await boot();
    expect(off.match?.[0]).not.toBe("Access Denied");
    expect(off.match).not.toBeNull();
  }, 300000);

  test("a kernel changed by one byte is refused by GRUB through shim", async () => {
    const vm = await bootNode("cn06", "52:54:00:12:34:06", () => {
      const kernel = join(site.sb.tftpdir, "xcat/osimage", site.image, "kernel");
      const data = readFileSync(kernel);
      data[data.length >> 1] = (data[data.length >> 1] as number) ^ 1;
      writeFileSync(kernel, data);
    });
    if (vm.match?.[0] !== "bad shim signature") console.log(`${vm.exit}\n${vm.console.slice(-4000)}`);
    expect(vm.match?.[0]).toBe("bad shim signature");
    expect(vm.console).not.toContain("xcimg-node:");
  }, 300000);
});
