import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectTools } from "../../../src/provmethods/sysclone/image-tools";
import { normalizeLayout } from "../../../src/provmethods/sysclone/layout";
import { renderPlanEnv } from "../../../src/provmethods/sysclone/node-plan";
import { CLONE_SCRIPT } from "../../../src/provmethods/sysclone/node-script";
import { DEBIAN_TOOLS, goldenGpt, planInput } from "../../helpers/clone-layouts";

/**
 * Clones onto Secure Boot nodes: the image must carry a signed chain (Debian's shim-signed
 * and grub-efi-amd64-signed, or a signed shim in an EL/SUSE image's ESP), and a node whose
 * firmware enforces Secure Boot refuses an image without one before it touches the disk —
 * else it would write a disk its firmware then refuses to start. The firmware's variable is a
 * file here (XC_EFIVARS); test/e2e/clone-vm.test.ts clones under OVMF with Secure Boot on.
 */
const dir = mkdtempSync(join(tmpdir(), "xcimg-clone-sb-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tree(name: string, files: string[]): string {
  const t = join(dir, name);
  const tools = ["grub-install", "grub-mkconfig", "sfdisk", "blkid", "mkfs.ext4", "mkfs.vfat", "mkswap", "tar", "curl", "gzip"];
  for (const f of [...tools.map((x) => `usr/bin/${x}`), "lib/systemd/systemd", ...files]) {
    mkdirSync(join(t, f, ".."), { recursive: true });
    writeFileSync(join(t, f), "");
  }
  mkdirSync(join(t, "usr/lib/grub/x86_64-efi"), { recursive: true });
  mkdirSync(join(t, "etc"), { recursive: true });
  writeFileSync(join(t, "etc/os-release"), 'ID=debian\nNAME="Debian GNU/Linux"\n');
  return t;
}

describe("an image's signed chain", () => {
  const layout = normalizeLayout(goldenGpt().layout, "img");
  test("Debian with shim-signed and grub-efi-amd64-signed: ready for Secure Boot", () => {
    const t = tree("deb-signed", ["usr/lib/shim/shimx64.efi.signed", "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"]);
    expect(inspectTools(t, layout).secureBoot).toBe("grub-install");
  });
  test("Debian with GRUB's modules only, or a signed shim without the signed GRUB: not ready", () => {
    expect(inspectTools(tree("deb-plain", []), layout).secureBoot).toBeNull();
    expect(inspectTools(tree("deb-shim-only", ["usr/lib/shim/shimx64.efi.signed"]), layout).secureBoot).toBeNull();
  });
  test("an EL image whose ESP holds its signed shim: ready through the shim, even with GRUB's modules (grub2-install would not sign)", () => {
    const t = tree("el", ["boot/efi/EFI/rocky/shimx64.efi", "boot/efi/EFI/rocky/grubx64.efi"]);
    const tools = inspectTools(t, layout);
    expect(tools.shim).toBe("\\EFI\\rocky\\shimx64.efi");
    expect(tools.secureBoot).toBe("shim");
  });
});

describe("clone.sh on a node that enforces Secure Boot", () => {
  const layout = normalizeLayout(goldenGpt().layout, "img");
  writeFileSync(join(dir, "clone.sh"), CLONE_SCRIPT);
  /** The firmware's SecureBoot variable as efivarfs shows it: 4 attribute bytes, then the value. */
  const efivars = (value: number | null) => {
    const d = mkdtempSync(join(dir, "efivars-"));
    if (value !== null) writeFileSync(join(d, "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"), Buffer.from([6, 0, 0, 0, value]));
    return d;
  };
  async function check(secureBootImage: "grub-install" | null, vars: string) {
    const run = mkdtempSync(join(dir, "run-"));
    const env = renderPlanEnv(planInput(layout, { tools: { ...DEBIAN_TOOLS, secureBoot: secureBootImage } }));
    writeFileSync(join(run, "plan.env"), env);
    const script = `XC_LIB=1 XC_DIR=${run} XC_RUN=${run}; . ${join(dir, "clone.sh")}; . ${run}/plan.env; XC_EFIVARS=${vars}; check_secure_boot; echo passed`;
    const p = Bun.spawn(["dash", "-c", script], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, out, err };
  }

  test("an image without a signed chain is refused before the disk is touched", async () => {
    const r = await check(null, efivars(1));
    expect(r.code).toBe(1);
    expect(r.out).not.toContain("passed");
    expect(r.err).toContain("this node enforces Secure Boot, but the image has no signed shim and GRUB");
    expect(r.err).toContain("The disk was not touched");
  });
  /** Which commands bootloader() would run in the new system (in_target only names them here). */
  async function bootloaderSteps(tools: Partial<typeof DEBIAN_TOOLS>, vars: string) {
    const run = mkdtempSync(join(dir, "run-"));
    writeFileSync(join(run, "plan.env"), renderPlanEnv(planInput(layout, { tools: { ...DEBIAN_TOOLS, ...tools } })));
    const script = `XC_LIB=1 XC_DIR=${run} XC_RUN=${run}; . ${join(dir, "clone.sh")}; . ${run}/plan.env; XC_EFIVARS=${vars}; FIRMWARE=uefi; DISK=/dev/vdz; in_target() { printf '%s\n' "$1"; }; has() { return 0; }; bootloader`;
    const p = Bun.spawn(["dash", "-c", script], { stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    return { code, out };
  }

  test("an EL image with GRUB's modules and its ESP's shim registers the shim under Secure Boot, and runs grub-install without it", async () => {
    const el = { shim: "\\EFI\\rocky\\shimx64.efi", secureBoot: "shim" as const, grubEfi: true };
    const on = await bootloaderSteps(el, efivars(1));
    expect(on.code).toBe(0);
    expect(on.out).toContain("registering \\EFI\\rocky\\shimx64.efi with the firmware");
    expect(on.out).not.toContain("installing GRUB for UEFI");
    const off = await bootloaderSteps(el, efivars(0));
    expect(off.out).toContain("installing GRUB for UEFI");
    // Debian's grub-install installs the signed chain itself: it runs under Secure Boot too
    const deb = await bootloaderSteps({ secureBoot: "grub-install" }, efivars(1));
    expect(deb.out).toContain("installing GRUB for UEFI");
    expect(deb.out).not.toContain("registering");
  });

  test("the clone log, status file and console keep an EFI path's backslashes (dash's echo made \\r a carriage return)", async () => {
    const run = mkdtempSync(join(dir, "run-"));
    const script = `XC_LIB=1 XC_DIR=${run} XC_RUN=${run}; . ${join(dir, "clone.sh")}; log 'registering \\EFI\\rocky\\shimx64.efi'; status running 'at \\EFI\\rocky'`;
    const p = Bun.spawn(["dash", "-c", script], { stdout: "pipe", stderr: "pipe" });
    const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code, err).toBe(0);
    expect(readFileSync(join(run, "clone.log"), "utf8")).toContain("registering \\EFI\\rocky\\shimx64.efi\n");
    expect(readFileSync(join(run, "clone.status"), "utf8")).toContain("message=at \\EFI\\rocky\n");
    expect(err).toContain("xcimg-clone: running: at \\EFI\\rocky\n");
  });

  test("an image with one goes on; Secure Boot off or no variable asks for nothing", async () => {
    expect((await check("grub-install", efivars(1))).out).toContain("passed");
    expect((await check(null, efivars(0))).out).toContain("passed");
    expect((await check(null, efivars(null))).out).toContain("passed");
  });
});
