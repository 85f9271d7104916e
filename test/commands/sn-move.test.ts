import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage, fakeKernels } from "../helpers/images";
import { Sandbox } from "../helpers/sandbox";

/**
 * `xcimg sn move` (xCAT snmove) on a sandbox MN: cn01 is sn1's with every server attribute
 * naming sn1, cn02 is in the pool sn1,sn2 without an xcatmaster, cn03 is the MN's own; sn3 is
 * an SN through the servicenode table. After a move, `boot` on the MN names the new SN.
 */
const A = "snmove-x86_64-netboot-compute";
let sb: Sandbox;

async function ok(...argv: string[]) {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r;
}
const attrs = async (n: string) => (JSON.parse((await ok("--json", "node", "show", n)).stdout) as Record<string, Record<string, string>>)[n] ?? {};
/** The tables a move could touch, as xCAT's tabdump prints them. */
const dbSum = async () => {
  let out = "";
  for (const t of ["noderes", "nodehm", "nodelist"]) out += (await ok("table", "dump", t)).stdout;
  return out;
};

beforeAll(async () => {
  sb = new Sandbox("sn-move");
  const a = await defineNetbootImage(sb, A, [], "snmove");
  fakeKernels(a.rootimg);
  await ok("pack", A);
  const node = (n: string, ...more: string[]) => ok("node", "set", n, "groups=compute,all", `mac=52:54:00:cc:00:${n.slice(-2)}`, "netboot=xnba", ...more);
  await node("cn01", "servicenode=sn1", "xcatmaster=sn1", "tftpserver=sn1", "nfsserver=sn1");
  await node("cn02", "servicenode=sn1,sn2");
  await node("cn03");
  // xCAT wants a servicenode row per SN: without one, sn1 stops being an SN once no node names it
  await ok("table", "set", "servicenode", "node=sn1", "dhcpserver=1");
  await ok("table", "set", "servicenode", "node=sn3", "dhcpserver=1");
  await ok("boot", "cn01,cn02,cn03", "-o", A);
}, 60000);

afterAll(() => sb?.cleanup());

describe("sn move", () => {
  test("bad input: a clear message, a non-zero exit, nothing changed", async () => {
    const before = await dbSum();
    const unknown = await sb.run("sn", "move", "cn01", "sn9");
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("sn9 is not a service node");
    const mnOwn = await sb.run("sn", "move", "cn01,cn03", "sn3");
    expect(mnOwn.code).not.toBe(0);
    expect(mnOwn.stderr).toContain("cn03 is served by no service node");
    const same = await sb.run("sn", "move", "cn01", "sn1");
    expect(same.code).not.toBe(0);
    expect(same.stderr).toContain("cn01 is already served by sn1");
    const self = await sb.run("sn", "move", "cn01", "sn2,sn2");
    expect(self.code).toBe(64);
    expect(self.stderr).toContain("sn2 cannot be its own backup");
    expect(await dbSum()).toBe(before);
    expect((await attrs("cn01")).servicenode).toBe("sn1");
  });

  test("moves servicenode and the attributes that named the old SN; says which SNs must sync", async () => {
    const r = await sb.run("--json", "sn", "move", "cn01,cn02", "sn3,sn2");
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { moved: { node: string; from: string[] }[]; sync: Record<string, string[]> };
    expect(out.moved.map((m) => [m.node, m.from])).toEqual([
      ["cn01", ["sn1"]],
      ["cn02", ["sn1", "sn2"]],
    ]);
    expect(out.sync).toEqual({ sn1: ["cn01", "cn02"], sn2: ["cn01", "cn02"], sn3: ["cn01", "cn02"] });
    expect(await attrs("cn01")).toMatchObject({ servicenode: "sn3,sn2", xcatmaster: "sn3", tftpserver: "sn3", nfsserver: "sn3" });
    const cn02 = await attrs("cn02");
    expect(cn02.servicenode).toBe("sn3,sn2");
    // a pool node without xcatmaster stays without one: whichever SN answers DHCP serves it
    expect(cn02.xcatmaster).toBeUndefined();
    const text = await sb.run("sn", "move", "cn01", "sn1");
    expect(text.code).toBe(0);
    expect(text.stderr).toContain("sn1: run 'xcimg sn sync' on it (for cn01)");
    expect(text.stderr).toContain("sn3: run 'xcimg sn sync' on it (for cn01)");
    expect(text.stdout).toContain("cn01: sn3,sn2 -> sn1");
  });

  test("boot on the MN then leaves the node's files to the new SN", async () => {
    await ok("sn", "move", "cn01", "sn3");
    const r = await sb.run("--json", "boot", "cn01,cn02", "-o", A);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { rowsOnly: string[]; snSync: Record<string, string[]> };
    expect(out.rowsOnly.sort()).toEqual(["cn01", "cn02"]);
    expect(out.snSync).toEqual({ sn2: ["cn02"], sn3: ["cn01", "cn02"] });
    expect(existsSync(join(sb.tftpdir, "xcat", "xnba", "nodes", "cn03"))).toBe(true);
  });
});
