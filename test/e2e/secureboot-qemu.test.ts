import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type NetbootSite, netbootSite } from "../helpers/netboot-site";
import { bootVm, OVMF_MS_VARS } from "../helpers/qemu";
import { ROOT } from "../helpers/sandbox";

/**
 * A node with Secure Boot enforced (OVMF secboot + Microsoft's keys) boots an xcimg image over
 * the network through the signed chain docs/boot.md describes: OVMF checks Debian's shim
 * (signed by Microsoft's UEFI CA), shim checks Debian's netboot GRUB, GRUB in lockdown asks
 * shim to check the kernel (Debian's, signed), then runs xcimg's per-node grub.cfg-01-<mac>.
 * Initrds are not signature-checked by this chain. A kernel whose bytes changed is refused.
 * The loader binaries are Debian's, extracted by scripts/fixtures.sh into .cache/secureboot.
 */
const SB = join(ROOT, ".cache/secureboot");
let site: NetbootSite;
beforeAll(async () => {
  if (!existsSync(join(SB, "grubx64.efi"))) throw new Error("no signed shim/GRUB: run scripts/fixtures.sh (scripts/test.sh does)");
  site = await netbootSite("secureboot-qemu");
  const r = await site.sb.run("pack", site.image);
  if (r.code !== 0) throw new Error(r.stderr);
  const t = site.sb.tftpdir;
  copyFileSync(join(SB, "shimx64.efi"), join(t, "shimx64.efi"));
  copyFileSync(join(SB, "grubx64.efi"), join(t, "grubx64.efi")); // shim loads grubx64.efi from its own directory
  // Debian's signed netboot GRUB reads (tftp)/grub/grub.cfg only: the one-time site file of
  // docs/boot.md "Secure Boot" sends it on to xcimg's per-node file
  mkdirSync(join(t, "grub"));
  writeFileSync(join(t, "grub/grub.cfg"), SITE_GRUB_CFG);
});
afterAll(() => site?.cleanup());

/** docs/boot.md "Secure Boot": the MAC as xcimg names the file (grub.cfg-01-aa-bb-...). */
const SITE_GRUB_CFG = `regexp --set=1:m1 --set=2:m2 --set=3:m3 --set=4:m4 --set=5:m5 --set=6:m6 '^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$' "$net_default_mac"
configfile ($root)/boot/grub2/grub.cfg-01-$m1-$m2-$m3-$m4-$m5-$m6
`;

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
