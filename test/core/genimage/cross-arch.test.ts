import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binfmtHandler, checkCrossArch } from "../../../src/core/genimage/cross-arch";

/**
 * The cross-architecture check reads binfmt_misc's files: `status` (enabled/disabled) and one
 * file per handler whose first line is enabled/disabled. A directory laid out like
 * /proc/sys/fs/binfmt_misc stands in for the kernel's here (registering a real handler would
 * change the whole machine); genimage-zypper.test.ts runs the real one through the binary.
 */
const dir = mkdtempSync(join(tmpdir(), "xcimg-binfmt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fake = (name: string, files: Record<string, string>) => {
  const d = join(dir, name);
  mkdirSync(d);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
  return d;
};

describe("cross-architecture builds", () => {
  test("the MN's own architecture needs no handler", () => {
    expect(() => checkCrossArch("x86_64", "x86_64", join(dir, "nothing"))).not.toThrow();
    expect(() => checkCrossArch("amd64", "x86_64", join(dir, "nothing"))).not.toThrow();
  });

  test("no binfmt_misc, a disabled one, or no qemu-<arch> handler: refused, naming the packages", () => {
    const none = join(dir, "not-mounted");
    const disabled = fake("disabled", { status: "disabled\n", "qemu-aarch64": "enabled\ninterpreter /usr/bin/qemu-aarch64-static\n" });
    const other = fake("other", { status: "enabled\n", "qemu-ppc64le": "enabled\n", "qemu-aarch64": "disabled\n" });
    for (const d of [none, disabled, other]) {
      expect(binfmtHandler("aarch64", d)).toBeNull();
      expect(() => checkCrossArch("aarch64", "x86_64", d)).toThrow(/building a aarch64 image on this x86_64 machine needs a binfmt_misc handler for aarch64/);
    }
    let err: { hint?: string; exitCode?: number } | undefined;
    try {
      checkCrossArch("arm64", "x86_64", none);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.hint).toContain("apt-get install qemu-user-static binfmt-support");
    expect(err?.exitCode).toBe(78);
  });

  test("an enabled qemu-<arch> handler lets the build proceed", () => {
    const ok = fake("ok", {
      status: "enabled\n",
      register: "",
      "qemu-aarch64": "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\n",
    });
    expect(binfmtHandler("aarch64", ok)).toBe(join(ok, "qemu-aarch64"));
    expect(() => checkCrossArch("aarch64", "x86_64", ok)).not.toThrow();
  });
});
