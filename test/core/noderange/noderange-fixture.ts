import { memoryNodeSource, type NodeSource } from "../../../src/core/noderange";

/**
 * The cluster the noderange golden table is evaluated against. The same data is fed to xCAT's
 * own NodeRange.pm (test/core/noderange/golden/generate.pl) to produce noderange-golden.json,
 * so the expected results below are what xCAT itself returns, not what we think it returns.
 */

/** node → nodelist.groups (null: the node belongs to no group). */
function nodes(): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const add = (names: string[], groups: string | null) => {
    for (const n of names) out[n] = groups;
  };
  const seq = (prefix: string, from: number, to: number, width = 0, suffix = "") =>
    Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${String(from + i).padStart(width, "0")}${suffix}`);

  // node10-node12 are also in the plain node1-node20 run below, which redefines them
  for (const n of seq("node", 1, 9, 2)) {
    const i = Number(n.slice(4));
    const rack = `rack${Math.ceil(i / 4)}`;
    const extra = [i <= 2 ? "dual" : "", i === 1 ? "10" : "", i === 7 ? "dyngrp" : "", i === 9 ? "statgrp" : "", i >= 8 ? "legacy" : ""];
    out[n] = ["all", "compute", rack, ...extra].filter(Boolean).join(",");
  }
  add(seq("node", 1, 20), "all,plain");
  add(seq("node", 1, 3, 3), "all,pad3");
  add(seq("node", 500, 505), "all");
  add(seq("cn", 1, 3, 0, "-ib"), "all,ib");
  add(["f1n1", "f1n2", "f1n3", "f2n1", "f2n2", "f2n3"], "all,frame");
  add(seq("nrtestnode", 1, 10, 2), "all");
  add(seq("nrtestnode", 1, 3), "all,group1");
  out.nrtestnode1 = "all,group1,group2";
  out.testnode01 = "nrtestgrp1";
  out.testnode02 = "nrtestgrp2";
  out.testnode03 = "nrtestgrp3";
  add(seq("exnode", 1, 5), "all");
  add(["nrnode1", "nrnode2"], "all");
  add(seq("web", 1, 3, 0, ".example.com"), "all,web");
  add(seq("abc", 1, 3), "abc");
  out.dual = "all";
  out["x-y"] = "all";
  out["sw-a-b"] = "all";
  out.lonely = null;
  return out;
}

export interface NodegroupRow {
  groupname: string;
  grouptype: "static" | "dynamic";
  /** Members of a dynamic group as xCAT's DBobjUtils would compute them from wherevals. */
  dynamicMembers?: string[];
}

export interface Fixture {
  nodes: Record<string, string | null>;
  nodegroups: NodegroupRow[];
  /** "table.column" → node → value */
  attributes: Record<string, Record<string, string>>;
  /** name → content of a ^file; `{dir}` in an expression is the directory holding them. */
  files: Record<string, string>;
}

function attributes(): Fixture["attributes"] {
  const os: Record<string, string> = {};
  const mgt: Record<string, string> = {};
  for (let i = 1; i <= 12; i++) {
    const n = `node${String(i).padStart(2, "0")}`;
    os[n] = i <= 6 ? "rhels8.5" : "sles15";
    if (i <= 8) mgt[n] = "ipmi";
    else if (i <= 10) mgt[n] = "kvm";
  }
  os.node1 = "rhels8.5-x";
  return {
    "nodetype.os": os,
    "nodehm.mgt": mgt,
    "nodetype.arch": { node01: "x86_64", node02: "x86_64", node03: "x86_64", node04: "x86_64", node05: "ppc64le" },
    "noderes.netboot": { node01: "xnba", node02: "grub2" },
  };
}

export const FIXTURE: Fixture = {
  nodes: nodes(),
  nodegroups: [
    { groupname: "dyngrp", grouptype: "dynamic", dynamicMembers: ["node03", "node05"] },
    { groupname: "dynempty", grouptype: "dynamic", dynamicMembers: [] },
    { groupname: "emptygrp", grouptype: "static" },
    { groupname: "statgrp", grouptype: "static" },
  ],
  attributes: attributes(),
  files: {
    list1: [
      "#my node list (this line ignored)",
      "^/tmp/foo #ignored",
      "node01    #node comment",
      "node02\tsecond",
      "node03:extra",
      "rack2",
      "/f1n.*",
      "-node01",
      "",
      "  indented-lines-are-empty-ranges",
      "nrnode1,nrnode2",
    ].join("\n"),
    comments: "# a comment line\n\n",
    noeol: "node10-node12",
  },
};

export interface GoldenCase {
  expr: string;
  /** default true */
  verify?: boolean;
  env?: Record<string, string>;
  /** site.excludenodes for this case */
  excludenodes?: string;
}

const v = (...exprs: string[]): GoldenCase[] => exprs.map((expr) => ({ expr }));
const nv = (...exprs: string[]): GoldenCase[] => exprs.map((expr) => ({ expr, verify: false }));

export const GOLDEN_CASES: GoldenCase[] = [
  // xCAT-test/autotest/testcase/noderange/cases0, in our fixture's names
  ...v("testnode01", "nrtestgrp1", "nrtestnode01-nrtestnode10", "nrtestnode[01-10]", "nrtestnode[01:10]", "f[1-2]n[1-3]"),
  ...v("nrtestgrp1-nrtestgrp3", "node10+3", "10-20", "/nrtestnode.*", "^{dir}/list1", "exnode1-exnode5,-exnode3,-exnode4", "group1@group2"),
  { expr: "10-20", env: { XCAT_NODE_PREFIX: "abc" } },
  { expr: "10-20", env: { XCAT_NODE_PREFIX: "abc", XCAT_NODE_SUFFIX: "def" } },
  { expr: "1-3", env: { XCAT_NODE_PREFIX: "abc" } },
  { expr: "1-3,2+1", env: { XCAT_NODE_PREFIX: "cn", XCAT_NODE_SUFFIX: "-ib" } },
  // names, groups, lists
  ...v("node01", "compute", "node01,node03,rack1", "rack1,node01", "plain", "pad3", "lonely", "all"),
  ...v("dual", "10", "dyngrp", "dynempty", "emptygrp", "statgrp", "statgrp,emptygrp,node01", "x-y", "sw-a-b"),
  // exclusion, intersection, parentheses
  ...v("compute,-node[02-12]", "all,-(compute,legacy)", "-node01,compute", "node1-node10,-node3-node5,node4", "all,-rack1-rack3,-plain,-pad3"),
  ...v("compute@rack1", "compute@(rack1,legacy)", "rack1@compute,-node01", "compute@rack1,rack2", "node05,compute@rack1", "compute,@rack1"),
  ...v("compute@rack1@dual", "all,-(rack1),node01", "all,-node01,node01", "compute,-node01,(node01)", "(node01,node02),-(node01)", "((node01,node02),node03)"),
  ...v("node01,(node02,(node03,node04))", "-(node01),node02", "(rack1,rack2)@dual", "node01,rack1@(dual,node03)", "(rack1),-node01", "compute,-(rack1@dual)"),
  // ranges
  ...v("node01-node10", "node1-node10", "cn1-ib-cn3-ib", "node01:node03", "node1:node3:node9", "rack1-rack3", "node001-node003", "node5-node3", "node01-node1"),
  ...v("node[01-10]", "node[1,3,5]", "node[1-3,7]", "node[01-03],node[10-11]", "f[1-2]n[1,3]", "cn[1-3]-ib", "web[1-3].example.com", "node[5]"),
  ...v("node10+3", "node01+2", "node09+2", "500+5", "web1.example.com+2", "10+3", "node1+0", "10", "7,8"),
  // regular expressions
  ...v("/node0[1-3]", "/cn.*", "/node1|node2", "/nomatch.*", "/web[12]\\.example\\.com", "compute,-/node0[1-9]"),
  // attribute selectors
  ...v("nodetype.os==rhels8.5", "nodetype.os=rhels8.5", "nodetype.os!=rhels8.5", "nodetype.os=~^rhels", "nodetype.os=~/sles/", "nodetype.os!~rhels"),
  ...v("groups=~rack[12]", "tags=~ib", "mgt==kvm", "mgt!=ipmi", "nodelist.groups=~/legacy/", "compute@nodetype.os==sles15", "compute,-mgt==ipmi"),
  ...v("nodetype.arch==x86_64,noderes.netboot==grub2", "nodetype.os==", "nodehm.mgt!~/^(ipmi|kvm)$/"),
  // ^file
  ...v("^{dir}/list1,-node02", "-^{dir}/list1,node20", "^{dir}/comments", "^{dir}/noeol,node01", "^{dir}/noeol@plain"),
  // quotes and stray separators
  ...v("'node01','node02'", '"compute",-node01', "node01,,node02", ",node01", "node01,", "compute,-,node01"),
  // unknown names (verify mode reports them)
  ...v("bogus", "node01,bogus", "node01-node25", "node[19-22]", "all,-bogus", "10-25", "node1-foo3", "foo-bar-baz", "nrtestgrp1-nrtestgrp4"),
  // verify=false: unknown plain names come back as typed
  ...nv("newnode", "newnode[01-03]", "node01,newnode1", "/node0[1-3]", "foo-bar-baz", "compute,newnode", "node1-foo3", "node05-node03", "f[1-2]x[1-2]"),
  ...nv("newnode10+2", "newnode1:newnode3,-newnode2", "rack1@newnode1"),
  // site.excludenodes
  { expr: "compute", excludenodes: "node02,rack3" },
  { expr: "node02,node03", excludenodes: "node02" },
  { expr: "newnode1,node02", excludenodes: "node02", verify: false },
];

/**
 * The fixture as a memoryNodeSource, with group membership worked out the way NodeRange.pm
 * does: nodelist.groups gives static members, a dynamic nodegroup row replaces them, and a
 * nodegroup row without members is a defined empty group.
 */
export function fixtureSource(excluded: string[] = []): NodeSource {
  const groups: Record<string, string[]> = {};
  const groupsColumn: Record<string, string> = {};
  for (const [node, list] of Object.entries(FIXTURE.nodes)) {
    if (list === null) continue;
    groupsColumn[node] = list;
    for (const g of list.split(",")) groups[g] = [...(groups[g] ?? []), node];
  }
  for (const row of FIXTURE.nodegroups) {
    if (row.grouptype === "dynamic") groups[row.groupname] = row.dynamicMembers ?? [];
    else groups[row.groupname] ??= [];
  }
  return memoryNodeSource({
    nodes: Object.keys(FIXTURE.nodes),
    groups,
    attributes: { ...FIXTURE.attributes, "nodelist.groups": groupsColumn },
    excluded,
  });
}
