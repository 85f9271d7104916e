import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Sandbox } from "../../helpers/sandbox";

/**
 * `xcimg lite --list <noderange>` and `lslite <noderange>`: xCAT-test/autotest/testcase/lslite/
 * cases0 (lslite_noderange) — a litefile row for ALL, the node's statelite.statemnt and a
 * litetree directory — with the layout of xCAT's lslite.1.pod and litetree.pm's showSync lines,
 * and `$node` / `$table.column` substituted for each node as it mounts them.
 */
const sb = new Sandbox("lite-nodes");
const IMG = "rhels9-x86_64-statelite-compute";

async function ok(...argv: string[]) {
  const r = await sb.run(...argv);
  expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
  return r;
}

beforeAll(async () => {
  await ok("image", "set", IMG, "provmethod=statelite", "osvers=rhels9", "osarch=x86_64", "profile=compute");
  await ok("node", "set", "cn[01-02]", "groups=compute,all", `provmethod=${IMG}`, "xcatmaster=10.0.0.1");
  // no provmethod: xCAT's <os>-<arch>-statelite-<profile>
  await ok("node", "set", "cn03", "groups=all", "os=rhels9", "arch=x86_64", "profile=compute");
  await ok("node", "set", "cn04", "groups=all", "provmethod=nosuch-image");
  await ok("node", "set", "cn05", "groups=all", `provmethod=${IMG}`);
  await ok("table", "set", "litefile", "image=ALL,file=/xcatpost", "options=tmpfs");
  await ok("table", "set", "litefile", `image=${IMG},file=/var/log/`, "options=persistent");
  await ok("table", "set", "statelite", "node=compute", "statemnt=$noderes.xcatmaster:/nodedata", "mntopts=vers=4");
  await ok("table", "set", "statelite", "node=cn03", "statemnt=mn:/nodedata");
  // cn05 has no xcatmaster: its statemnt cannot be resolved
  await ok("table", "set", "statelite", "node=cn05", "statemnt=$noderes.xcatmaster:/nodedata");
  await ok("table", "set", "litetree", "priority=2", "directory=test.server:/statelite/$node");
  await ok("table", "set", "litetree", "priority=1", "directory=/install/trees");
});
afterAll(() => sb.cleanup());

describe("lite --list <noderange> (xCAT lslite <noderange>)", () => {
  test("per node: its osimage, statelite, litefile and litetree values, substituted for the node", async () => {
    const r = await ok("lite", "--list", "cn01,cn03");
    const block = (node: string, statemnt: string) => [
      `>>>Node: ${node}`,
      "",
      `Osimage: ${IMG}`,
      "",
      "Persistent directory (statelite table):",
      `        ${statemnt}`,
      "",
      "Litefiles (litefile table):",
      "        link          /etc/mtab",
      "        persistent    /var/log/",
      "        tmpfs         /xcatpost",
      "",
      "Litetree path (litetree table):",
      "        1, /install/trees",
      `        2, test.server:/statelite/${node}`,
      "",
    ];
    // a blank line after each node's block, the last one's dropped as the output ends
    expect(r.stdout).toBe(`${[...block("cn01", "10.0.0.1:/nodedata :vers=4"), ...block("cn03", "mn:/nodedata")].join("\n").trimEnd()}\n`);
    const j = JSON.parse((await ok("--json", "lite", "--list", "cn02")).stdout);
    expect(j.nodes[0]).toMatchObject({ node: "cn02", image: IMG, statemnt: "10.0.0.1:/nodedata", mntopts: "vers=4" });
    expect(j.nodes[0].trees[1]).toEqual({ priority: "2", dir: "test.server:/statelite/cn02", mntopts: "" });
  });

  test("the lslite name takes the noderange; -i still lists the image", async () => {
    const viaLslite = await ok("lslite", "cn01");
    expect(viaLslite.stdout).toBe((await ok("lite", "--list", "cn01")).stdout);
    expect((await ok("lslite", "-i", IMG)).stdout).toBe((await ok("lite", "--list", IMG)).stdout);
    expect((await ok("lite", "--list", IMG)).stdout).not.toContain(">>>Node");
  });

  test("a node without a usable image or value is named with the reason; the others are listed", async () => {
    const r = await sb.run("lite", "--list", "cn01,cn04,cn05");
    expect(r.code).toBe(1);
    expect(r.stdout).toStartWith(">>>Node: cn01\n");
    expect(r.stdout).not.toContain("cn04");
    expect(r.stderr).toContain("cn04: its osimage 'nosuch-image' is not defined");
    expect(r.stderr).toContain("cn05: statelite.statemnt '$noderes.xcatmaster': $noderes.xcatmaster has no value for node cn05");
  });

  test("a name that is neither an image nor nodes: lslite -i's message; --nodes only with --list", async () => {
    let r = await sb.run("lite", "--list", "nosuch");
    expect(r.code).toBe(66);
    expect(r.stderr).toStartWith("Error: The osimage named 'nosuch' is not defined.\n");
    r = await sb.run("lslite", "nosuch");
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("nosuch");
    r = await sb.run("lite", "--nodes", IMG);
    expect(r.code).toBe(64);
  });
});
