import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { BIN, Sandbox } from "../helpers/sandbox";

/**
 * chdef -p/-m/-n, chtab col+=value and group objects through the compiled binary, with the
 * expectations of xCAT-test/autotest/testcase/chdef/cases0 (chdef_p, chdef_m, chdef_n,
 * chdef_group, chdef_group_p, chdef_dynamic_group) and chtab/cases0 (chtab_modify_key).
 */
let sb: Sandbox;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  sb = new Sandbox("fidelity-lists");
});
afterAll(() => sb.cleanup());

const ok = async (...argv: string[]) => {
  const r = await sb.bin(argv);
  if (r.code !== 0) throw new Error(`xcimg ${argv.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
};
const groupsOf = async (node: string) => JSON.parse((await ok("--json", "node", "show", node)).stdout)[node].groups;

describe("list attributes", () => {
  test("chdef_p / chdef_m: -p appends to groups, -m removes from it", async () => {
    await ok("node", "set", "testnode", "groups=all");
    await ok("node", "set", "-p", "testnode", "groups=aix");
    expect((await ok("node", "show", "testnode")).stdout).toContain("groups=all,aix");
    await ok("node", "set", "testnode", "-p", "groups=aix"); // already there: not doubled
    expect(await groupsOf("testnode")).toBe("all,aix");
    await ok("node", "set", "testnode", "groups=all,testgroup");
    await ok("node", "set", "-m", "testnode", "groups=testgroup");
    expect((await ok("node", "show", "testnode")).stdout).not.toContain("testgroup");
    const both = await sb.bin(["node", "set", "-p", "-m", "testnode", "groups=x"]);
    expect(both.code).toBe(64);
  });

  test("-p works per node: each keeps its own list", async () => {
    await ok("node", "set", "pn1", "groups=all,a");
    await ok("node", "set", "pn2", "groups=all,b");
    await ok("node", "set", "-p", "pn1,pn2", "groups=gpu");
    expect(await groupsOf("pn1")).toBe("all,a,gpu");
    expect(await groupsOf("pn2")).toBe("all,b,gpu");
  });

  test("image set -p/-m on postscripts", async () => {
    await ok("image", "set", "img1", "provmethod=netboot", "postscripts=syslog");
    await ok("image", "set", "-p", "img1", "postscripts=mine,other");
    expect(JSON.parse((await ok("--json", "image", "show", "img1")).stdout).img1.postscripts).toBe("syslog,mine,other");
    await ok("image", "set", "-m", "img1", "postscripts=syslog");
    expect(JSON.parse((await ok("--json", "image", "show", "img1")).stdout).img1.postscripts).toBe("mine,other");
  });

  test("chdef's two spellings are one edit: attr,=v is -p, attr^=v is -m, and they mix", async () => {
    await ok("image", "set", "img2", "provmethod=netboot", "postscripts=syslog", "postbootscripts=a");
    await ok("image", "set", "img2", "postscripts,=mine,syslog", "postbootscripts^=a", "osvers=rhels9.4");
    const img = JSON.parse((await ok("--json", "image", "show", "img2")).stdout).img2;
    expect(img.postscripts).toBe("syslog,mine");
    expect(img.postbootscripts).toBeUndefined();
    expect(img.osvers).toBe("rhels9.4");
    // with -p the plain ones append too, and a ^= in the same command still removes
    await ok("node", "set", "sp1", "groups=all,old");
    await ok("node", "set", "-p", "sp1", "groups=new", "groups^=old");
    expect(await groupsOf("sp1")).toBe("all,new");
    const bad = await sb.bin(["node", "set", "sp1", "nosuchattr,=x"]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("'nosuchattr' is not a valid node attribute");
  });

  test("chdef_n: -n moves the node's rows in every table keyed on the node", async () => {
    await ok("node", "set", "testnode1", "mgt=hmc", "cons=hmc", "groups=all,systemp", "ip=10.0.0.5", "mac=52:54:00:00:00:05", "netboot=xnba");
    await ok("table", "set", "statelite", "node=testnode1", "statemnt=10.0.0.1:/nodedata");
    const before = (await ok("node", "show", "testnode1")).stdout;
    await ok("node", "set", "testnode1", "-n", "testnode2");
    const gone = await sb.bin(["node", "show", "testnode1"]);
    expect(gone.code).toBe(66);
    expect((await ok("node", "show", "testnode2")).stdout).toBe(before.replace("testnode1", "testnode2"));
    for (const t of ["nodelist", "nodehm", "hosts", "mac", "noderes", "statelite"]) {
      const dump = (await ok("table", "dump", t)).stdout;
      expect(dump).toContain('"testnode2"');
      expect(dump).not.toContain('"testnode1"');
    }
    // onto an existing name: refused, nothing moved
    await ok("node", "set", "other", "groups=all");
    const clash = await sb.bin(["node", "set", "testnode2", "-n", "other"]);
    expect(clash.code).toBe(64);
    expect((await ok("table", "dump", "hosts")).stdout).toContain('"testnode2","10.0.0.5"');
  });

  test("chtab_modify_key: col+=value appends with a comma", async () => {
    await ok("table", "set", "site", "key=rsh_test", "value=/opt/xcat/bin/scp", "comments=the rcp command");
    await ok("table", "set", "site", "key=rsh_test", "site.value+=/opt/xcat/bin/rcp");
    expect((await ok("table", "dump", "site")).stdout).toContain('"rsh_test","/opt/xcat/bin/scp,/opt/xcat/bin/rcp","the rcp command",');
    await ok("table", "set", "site", "key=fresh", "value+=first"); // nothing stored: the value itself
    expect((await ok("table", "dump", "site")).stdout).toContain('"fresh","first",,');
  });
});

describe("groups", () => {
  test("chdef_group: static members through nodelist.groups, -p and -m", async () => {
    await ok("node", "set", "gn1,gn2", "mgt=hmc", "cons=hmc", "groups=all,systemp");
    await ok("node", "set", "gn3,gn4", "mgt=ipmi", "cons=ipmi", "groups=all,systemx");
    await ok("group", "set", "testgrp1", "members=gn1,gn3");
    expect((await ok("node", "list", "testgrp1")).stdout).toBe("gn1\ngn3\n");
    expect(await groupsOf("gn1")).toBe("all,systemp,testgrp1");
    expect((await ok("table", "dump", "nodegroup")).stdout).toContain('"testgrp1","static","static",,,,');
    await ok("group", "set", "testgrp1", "-p", "members=gn2,gn4");
    expect((await ok("node", "list", "testgrp1")).stdout).toBe("gn1\ngn2\ngn3\ngn4\n");
    await ok("group", "set", "testgrp1", "-m", "members=gn1,gn2");
    expect((await ok("node", "list", "testgrp1")).stdout).toBe("gn3\ngn4\n");
    await ok("group", "rm", "testgrp1");
    expect(await groupsOf("gn3")).toBe("all,systemx");
    expect((await sb.bin(["group", "show", "testgrp1"])).stderr).toContain("Could not find an object named 'testgrp1' of type 'group'.");
  });

  test("chdef_dynamic_group: -d -w, then -p and -m on the conditions", async () => {
    await ok("node", "set", "dn1,dn2", "mgt=hmc", "cons=hmc", "groups=all,dsystemp");
    await ok("node", "set", "dn3,dn4", "mgt=hmc", "cons=ipmi", "groups=all,dsystemx");
    await ok("group", "set", "dyngrp", "-d", "-w", "cons==hmc");
    expect((await ok("node", "list", "dyngrp")).stdout).toBe("dn1\ndn2\ngn1\ngn2\ntestnode2\n");
    await ok("group", "set", "dyngrp", "-d", "-w", "mgt==hmc");
    await ok("group", "set", "dyngrp", "-d", "-p", "-w", "cons==hmc", "-w", "groups=~dsystemp");
    expect((await ok("node", "list", "dyngrp")).stdout).toBe("dn1\ndn2\n");
    expect((await ok("group", "show", "dyngrp")).stdout).toContain("wherevals=mgt==hmc::cons==hmc::groups=~dsystemp");
    await ok("group", "set", "dyngrp", "-d", "-m", "-w", "cons==hmc", "-w", "groups=~dsystemp");
    expect((await ok("node", "list", "dyngrp")).stdout).toBe("dn1\ndn2\ndn3\ndn4\ngn1\ngn2\ntestnode2\n");
    const bad = await sb.bin(["group", "set", "dyngrp", "-d", "-w", "nosuchattr==x"]);
    expect(bad.code).toBe(65);
    expect((await ok("group", "show", "dyngrp")).stdout).toContain("wherevals=mgt==hmc\n"); // rolled back
    await ok("group", "rm", "dyngrp");
  });
});
