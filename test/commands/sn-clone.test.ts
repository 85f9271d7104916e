import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Sandbox } from "../helpers/sandbox";
import { defineFakeSyscloneImage } from "../helpers/sysclone-image";

/**
 * `xcimg clone` on the MN of a node behind a service node (issue #18): like `boot`
 * (sn-boot.test.ts), the node gets its rows and SSH host key, and nothing in the MN's tftpdir;
 * the SN is named. cn01 is sn1's, cn05 the MN's own.
 */
let sb: Sandbox;
const IMG = "snsc";
const tftp = (p: string) => join(sb.tftpdir, p);

beforeAll(async () => {
  sb = new Sandbox("sn-clone");
  await defineFakeSyscloneImage(sb, IMG);
  expect((await sb.run("node", "set", "cn01", "groups=all", "mac=52:54:00:00:00:01", "servicenode=sn1", "xcatmaster=sn1")).code).toBe(0);
  expect((await sb.run("node", "set", "cn05", "groups=all", "mac=52:54:00:00:00:05")).code).toBe(0);
});
afterAll(() => sb?.cleanup());

describe("clone on the MN of a node behind a service node", () => {
  test("the SN's node gets rows and a host key, no file here; the MN's node is prepared as usual", async () => {
    const r = await sb.run("--json", "clone", "cn01,cn05", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { nodes: { node: string }[]; rowsOnly: string[]; snSync: Record<string, string[]> };
    expect(out.nodes.map((n) => n.node)).toEqual(["cn05"]);
    expect(out.rowsOnly).toEqual(["cn01"]);
    expect(out.snSync).toEqual({ sn1: ["cn01"] });
    expect(existsSync(tftp("xcat/xnba/nodes/cn05"))).toBe(true);
    expect(existsSync(tftp("xcat/xnba/nodes/cn01"))).toBe(false);
    expect(existsSync(tftp("xcat/overlay/cn01.cpio"))).toBe(false);
    expect((await sb.run("node", "show", "cn01")).stdout).toContain("currstate=sysclone debian12-x86_64\n");
    const keys = JSON.parse(readFileSync(join(sb.dir, "db", "ssh-host-keys.json"), "utf8"));
    expect(Object.keys(keys).sort()).toEqual(["cn01", "cn05"]);
    const text = await sb.run("clone", "cn01", "-o", IMG);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("cn01: boot files left to service node sn1");
    expect(text.stderr).toContain("sn1: run 'xcimg sn sync' on it for cn01");
  });
});
