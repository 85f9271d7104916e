import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage, fakeKernels } from "../helpers/images";
import { Sandbox } from "../helpers/sandbox";

/**
 * `xcimg boot` on the management node of nodes behind service nodes (issue #18): cn01 is
 * sn1's (servicenode and xcatmaster), cn02 a pool's (sn2,sn1), cn04's xcatmaster names sn9,
 * which is an SN only through the servicenode table; cn03's xcatmaster is the MN itself and
 * cn05 names nothing. The SNs' nodes get rows and host keys, no file in the MN's tftpdir.
 */
const A = "snboot-x86_64-netboot-compute";
let sb: Sandbox;

const xnba = (n: string) => join(sb.tftpdir, "xcat", "xnba", "nodes", n);
const overlay = (n: string) => join(sb.tftpdir, "xcat", "overlay", `${n}.cpio`);

async function ok(...argv: string[]) {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r;
}

async function currstate(node: string): Promise<string> {
  const r = await ok("--json", "node", "show", node);
  return (JSON.parse(r.stdout) as Record<string, Record<string, string>>)[node]?.currstate ?? "";
}

beforeAll(async () => {
  sb = new Sandbox("sn-boot");
  const a = await defineNetbootImage(sb, A, [], "snboot");
  fakeKernels(a.rootimg);
  await ok("pack", A);
  const node = (n: string, i: number, ...attrs: string[]) => ok("node", "set", n, "groups=compute,all", `mac=52:54:00:bb:00:0${i}`, "netboot=xnba", ...attrs);
  await node("cn01", 1, "servicenode=sn1", "xcatmaster=sn1");
  await node("cn02", 2, "servicenode=sn2,sn1");
  await node("cn03", 3, "xcatmaster=mn1");
  await node("cn04", 4, "xcatmaster=sn9");
  await node("cn05", 5);
  await ok("table", "set", "servicenode", "node=sn9", "tftpserver=1");
  // a disabled row makes no SN (xCAT's Table.pm): mn1 stays the MN
  await ok("table", "set", "servicenode", "node=mn1", "disable=1");
}, 60000);

afterAll(() => sb?.cleanup());

describe("boot on the MN of nodes behind service nodes", () => {
  test("their rows and host keys are written, their files are left to the SN, which is named", async () => {
    const r = await sb.run("--json", "boot", "cn0[1-5]", "-o", A);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { booted: { node: string }[]; rowsOnly: string[]; snSync: Record<string, string[]> };
    expect(out.booted.map((b) => b.node).sort()).toEqual(["cn03", "cn05"]);
    expect(out.rowsOnly.sort()).toEqual(["cn01", "cn02", "cn04"]);
    expect(out.snSync).toEqual({ sn1: ["cn01", "cn02"], sn2: ["cn02"], sn9: ["cn04"] });
    for (const n of ["cn01", "cn02", "cn04"]) {
      expect(existsSync(xnba(n))).toBe(false);
      expect(existsSync(overlay(n))).toBe(false);
      expect(await currstate(n)).toBe("netboot snboot-x86_64-compute");
    }
    for (const n of ["cn03", "cn05"]) expect(existsSync(xnba(n))).toBe(true);
    // the SN's snapshot carries the MN's host keys: the MN still makes them
    const keys = JSON.parse(readFileSync(join(sb.dir, "db", "ssh-host-keys.json"), "utf8")) as Record<string, unknown>;
    expect(Object.keys(keys)).toEqual(expect.arrayContaining(["cn01", "cn02", "cn04"]));
  });

  test("the text output says per SN which nodes need 'sn sync' there", async () => {
    const r = await sb.run("boot", "cn01,cn02,cn03");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("sn1: run 'xcimg sn sync' on it for cn01,cn02");
    expect(r.stderr).toContain("sn2: run 'xcimg sn sync' on it for cn02");
    expect(r.stderr).not.toContain("sn9");
    expect(r.stdout).toContain("cn01: boot files left to service node sn1");
    expect(r.stdout).toContain("cn02: boot files left to service node sn2,sn1");
    expect(r.stdout).toContain("cn03: netboot snboot-x86_64-compute");
    expect(existsSync(xnba("cn01"))).toBe(false);
  });

  test("site.sharedtftp=1 (the SNs mount this tftpdir): the MN writes their files as before", async () => {
    await ok("table", "set", "site", "key=sharedtftp", "value=1");
    try {
      const r = await sb.run("--json", "boot", "cn01,cn04");
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as { booted: { node: string }[]; rowsOnly: string[]; snSync: Record<string, string[]> };
      expect(out.booted.map((b) => b.node).sort()).toEqual(["cn01", "cn04"]);
      expect(out.rowsOnly).toEqual([]);
      expect(out.snSync).toEqual({ sn1: ["cn01"], sn9: ["cn04"] });
      expect(existsSync(xnba("cn01"))).toBe(true);
      expect(readFileSync(xnba("cn01"), "utf8")).toContain("XCAT=sn1:3001");
    } finally {
      await ok("table", "set", "site", "key=sharedtftp", "value=0");
    }
  });

  test("a node that fails its checks is reported, behind an SN as anywhere", async () => {
    await ok("node", "set", "cn06", "groups=compute,all", "servicenode=sn1");
    const r = await sb.run("--json", "boot", "cn01,cn06", "-o", A);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { failed: Record<string, string>; rowsOnly: string[]; snSync: Record<string, string[]> };
    expect(out.failed.cn06).toContain("No MAC address");
    expect(out.rowsOnly).toEqual(["cn01"]);
    expect(out.snSync).toEqual({ sn1: ["cn01"] });
  });
});

describe("sn snapshot --sn and sn status on the MN", () => {
  test("a name that cannot be a file name is refused before any snapshot is made", async () => {
    const r = await sb.run("--json", "sn", "snapshot", "--sn", "../evil");
    expect(r.code).toBe(65);
    expect(r.stdout).toContain("would become a file name outside its directory");
    expect(existsSync(join(sb.dir, "db", "sn-snapshots"))).toBe(false);
    expect(existsSync(join(sb.dir, "db", "sn-syncs"))).toBe(false);
  });

  test("a snapshot asked for by an SN is noted; SNs that never asked are listed as never synced", async () => {
    const snap = await ok("--json", "sn", "snapshot", "--sn", "sn9,sn9.cluster");
    const path = (JSON.parse(snap.stdout) as { path: string }).path;
    await ok("sn", "snapshot", "--drop", path);
    const r = await ok("--json", "sn", "status");
    const sns = (JSON.parse(r.stdout) as { sns: { sn: string; nodes: string[]; images: string[]; lastSync: { images: string[] } | null }[] }).sns;
    expect(sns.map((s) => s.sn)).toEqual(["sn1", "sn2", "sn9"]);
    expect(sns[2]).toMatchObject({ nodes: ["cn04"], images: [A], lastSync: { images: [A] } });
    expect(sns[0]?.lastSync).toBeNull();
    expect((await ok("sn", "status")).stdout).toContain("sn1: 3 node(s)");
  });
});
