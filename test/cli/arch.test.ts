import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, Sandbox } from "../helpers/sandbox";

/** One set of architecture names for every way a value gets in (core/arch.ts). */
let sb: Sandbox;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  sb = new Sandbox("fidelity-arch");
});
afterAll(() => sb.cleanup());

const ok = async (argv: string[], stdin?: string) => {
  const r = await sb.bin(argv, { stdin });
  if (r.code !== 0) throw new Error(`xcimg ${argv.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
};
const nodeArch = async (n: string) => JSON.parse((await ok(["--json", "node", "show", n])).stdout)[n].arch;

describe("architecture names", () => {
  test("aliases are accepted by node set, image set, stanza files, table set and table restore, and stored as xCAT's name", async () => {
    await ok(["node", "set", "n1", "arch=ppc64el"]);
    expect(await nodeArch("n1")).toBe("ppc64le");
    await ok(["node", "set", "n2", "arch=arm64"]);
    expect(await nodeArch("n2")).toBe("aarch64");
    await ok(["table", "set", "nodetype", "node=n3", "arch=x86-64"]);
    await ok(["node", "set", "n3", "groups=all"]);
    expect(await nodeArch("n3")).toBe("x86_64");
    await ok(["image", "set", "img", "osarch=amd64"]);
    expect(JSON.parse((await ok(["--json", "image", "show", "img"])).stdout).img.osarch).toBe("x86_64");
    await ok(["node", "set", "-z"], "n4:\n    objtype=node\n    arch=ppc64el\n");
    expect(await nodeArch("n4")).toBe("ppc64le");
    const csv = join(sb.dir, "nodetype.csv");
    writeFileSync(csv, '#node,os,arch,profile,provmethod,supportedarchs,nodetype,comments,disable\n"n1",,"ppc64el",,,,,,\n"n2",,"aarch64",,,,,,\n');
    await ok(["table", "restore", csv]);
    expect((await ok(["table", "dump", "nodetype"])).stdout).toBe(
      '#node,os,arch,profile,provmethod,supportedarchs,nodetype,comments,disable\n"n1",,"ppc64le",,,,,,\n"n2",,"aarch64",,,,,,\n',
    );
  });

  test("an unknown architecture is refused the same way everywhere, and nothing is written", async () => {
    const before = (await ok(["table", "dump", "nodetype"])).stdout;
    const msg = "arch must be one of x86_64, aarch64, ppc64le, ppc64, s390x";
    for (const [argv, stdin, code] of [
      [["node", "set", "n1", "arch=sparc"], undefined, 64],
      [["table", "set", "nodetype", "node=n1", "arch=sparc"], undefined, 64],
      [["node", "set", "-z"], "n1:\n    arch=sparc\n", 65],
    ] as const) {
      const r = await sb.bin([...argv], { stdin });
      expect(r.code).toBe(code);
      expect(r.stderr).toContain(msg);
    }
    const csv = join(sb.dir, "bad.csv");
    writeFileSync(csv, '#node,os,arch,profile,provmethod,supportedarchs,nodetype,comments,disable\n"n1",,"sparc",,,,,,\n');
    const r = await sb.bin(["table", "restore", "nodetype", csv]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(msg);
    expect((await ok(["table", "dump", "nodetype"])).stdout).toBe(before);
    const img = await sb.bin(["image", "set", "img", "osarch=sparc"]);
    expect(img.stderr).toContain("osarch must be one of x86_64, aarch64, ppc64le, ppc64, s390x (also accepted: x86-64, amd64, arm64, ppc64el)");
  });
});
