import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BIN, Sandbox } from "../helpers/sandbox";
import { makeImageRoot } from "../helpers/statelite-fixture";

/** The compiled binary runs lite end to end and installs the node script it carries inside. */
let sb: Sandbox;
const IMG = "rhels9-x86_64-statelite-compute";
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  sb = new Sandbox("statelite-binary");
});
afterAll(() => sb.cleanup());

describe("xcimg lite (compiled binary)", () => {
  test("lite, lite --list and the embedded rc.statelite", async () => {
    const root = join(sb.installdir, "netboot", "rhels9", "x86_64", "compute", "rootimg");
    makeImageRoot(root);
    expect((await sb.bin(["image", "set", IMG, "provmethod=statelite", "osvers=rhels9", "osarch=x86_64", "profile=compute"])).code).toBe(0);
    expect((await sb.bin(["table", "set", "litefile", "image=ALL,file=/etc/hosts", "options=tmpfs,rw"])).code).toBe(0);
    const list = await sb.bin(["lite", "--list", IMG]);
    expect(list.stdout).toBe("        tmpfs,rw      /etc/hosts\n        link          /etc/mtab\n");
    const r = await sb.bin(["lite", IMG]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toEndWith(`Modifying ${root} done.\n`);
    const script = join(root, "etc/init.d/statelite");
    expect(readFileSync(script, "utf8")).toBe(readFileSync(join(import.meta.dir, "../../src/provmethods/statelite/rc.statelite.sh"), "utf8"));
    expect(statSync(script).mode & 0o777).toBe(0o755);
  });
});
