import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "../../../src/core/db/open";
import { upsert } from "../../../src/core/db/rows";
import { DataError, ExitCode, NotFoundError, UsageError } from "../../../src/core/errors";
import { type ExpandOptions, expandNoderange, memoryNodeSource } from "../../../src/core/noderange";
import { dbNodeSource } from "../../../src/core/noderange/db-source";
import { openTestDb } from "../../helpers/test-db";
import { FIXTURE, fixtureSource } from "./noderange-fixture";
import goldenJson from "./noderange-golden.json";

const dir = mkdtempSync(join(tmpdir(), "xcimg-noderange-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The fixture's ^files, served from a directory that does not exist on disk. */
const VIRTUAL_DIR = "/fixture-files";
function readFixtureFile(path: string): string {
  const content = path.startsWith(`${VIRTUAL_DIR}/`) ? FIXTURE.files[path.slice(VIRTUAL_DIR.length + 1)] : undefined;
  if (content === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
  return content;
}

const src = fixtureSource();
const expand = (expr: string, opts: ExpandOptions = {}) =>
  expandNoderange(expr.replaceAll("{dir}", VIRTUAL_DIR), src, { env: {}, readFile: readFixtureFile, ...opts });

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error, got none");
}

const seq = (prefix: string, from: number, to: number, width = 0, suffix = "") =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${String(from + i).padStart(width, "0")}${suffix}`);
const sorted = (names: string[]) => [...names].sort();

describe("noderange constructs (results confirmed by running xCAT's NodeRange.pm)", () => {
  const cases: [string, string[]][] = [
    // xCAT-test/autotest/testcase/noderange/cases0
    ["testnode01", ["testnode01"]],
    ["nrtestgrp1", ["testnode01"]],
    ["nrtestnode01-nrtestnode10", seq("nrtestnode", 1, 10, 2)],
    ["nrtestnode[01-10]", seq("nrtestnode", 1, 10, 2)],
    ["nrtestnode[01:10]", seq("nrtestnode", 1, 10, 2)],
    ["f[1-2]n[1-3]", ["f1n1", "f1n2", "f1n3", "f2n1", "f2n2", "f2n3"]],
    ["nrtestgrp1-nrtestgrp3", ["testnode01", "testnode02", "testnode03"]],
    ["node10+3", ["node10", "node11", "node12", "node13"]],
    ["10-20", sorted(seq("node", 10, 20))],
    ["/nrtestnode.*", sorted([...seq("nrtestnode", 1, 10, 2), ...seq("nrtestnode", 1, 3)])],
    ["exnode1-exnode5,-exnode3,-exnode4", ["exnode1", "exnode2", "exnode5"]],
    ["group1@group2", ["nrtestnode1"]],
    // union, exclusion (applied last), intersection (binds tighter than ,), parentheses
    ["node01,node03,rack1", ["node01", "node02", "node03", "node04"]],
    ["compute,-node[02-12]", ["node01"]],
    ["node1-node10,-node3-node5,node4", ["node1", "node10", "node2", "node6", "node7", "node8", "node9"]],
    ["compute@rack1", ["node01", "node02", "node03", "node04"]],
    ["compute@rack1,rack2", seq("node", 1, 8, 2)],
    ["rack1@compute,-node01", ["node02", "node03", "node04"]],
    ["compute@(rack1,legacy)", ["node01", "node02", "node03", "node04", "node08", "node09"]],
    ["compute,-(rack1,legacy)", ["node05", "node06", "node07"]],
    // ranges
    ["node1-node10", sorted(seq("node", 1, 10))],
    ["cn1-ib-cn3-ib", ["cn1-ib", "cn2-ib", "cn3-ib"]],
    ["node01:node03", ["node01", "node02", "node03"]],
    ["node[1,3,5]", ["node1", "node3", "node5"]],
    ["node[1-3,7]", ["node1", "node2", "node3", "node7"]],
    ["cn[1-3]-ib", ["cn1-ib", "cn2-ib", "cn3-ib"]],
    ["node01+2", ["node01", "node02", "node03"]],
    ["node09+2", ["node09", "node10", "node11"]],
    ["500+5", seq("node", 500, 505)],
    ["web1.example.com+2", seq("web", 1, 3, 0, ".example.com")],
    ["rack1-rack3", seq("node", 1, 9, 2)],
    // names, groups, regex, attributes, quotes
    ["dual", ["dual"]],
    ["dyngrp", ["node03", "node05"]],
    ["emptygrp", []],
    ["/node0[1-3]", ["node01", "node02", "node03"]],
    ["nodetype.os==rhels8.5", seq("node", 1, 6, 2)],
    ["nodetype.os=~/sles/", seq("node", 7, 12, 2)],
    ["groups=~rack[12]", seq("node", 1, 8, 2)],
    ["tags=~ib", ["cn1-ib", "cn2-ib", "cn3-ib"]],
    ["mgt==kvm", ["node09", "node10"]],
    ["compute,-mgt==ipmi", ["node09"]],
    ["'node01',\"node02\"", ["node01", "node02"]],
    ["^{dir}/list1", ["f1n1", "f1n2", "f1n3", "node01", "node02", "node03", "node05", "node06", "node07", "node08", "nrnode1", "nrnode2"]],
  ];
  test.each(cases)("%s", (expr, want) => {
    expect(expand(expr)).toEqual(want);
  });

  test("the result is deduplicated and sorted as Perl sorts: node1, node10, node2", () => {
    expect(expand("plain,node2,node1")).toEqual(sorted(seq("node", 1, 20)));
    expect(expand("plain").slice(0, 3)).toEqual(["node1", "node10", "node11"]);
  });

  test("XCAT_NODE_PREFIX / XCAT_NODE_SUFFIX name bare numbers (default prefix node)", () => {
    expect(expand("7,8")).toEqual(["node7", "node8"]);
    expect(expand("1-3", { env: { XCAT_NODE_PREFIX: "abc" } })).toEqual(["abc1", "abc2", "abc3"]);
    expect(expand("1-3,2+1", { env: { XCAT_NODE_PREFIX: "cn", XCAT_NODE_SUFFIX: "-ib" } })).toEqual(["cn1-ib", "cn2-ib", "cn3-ib"]);
    const err = thrown(() => expand("10-12", { env: { XCAT_NODE_PREFIX: "abc", XCAT_NODE_SUFFIX: "def" } }));
    expect(err.message).toBe("Invalid nodes and/or groups in noderange: abc10def,abc11def,abc12def");
  });

  test("without an env option the process environment is used", () => {
    const saved = process.env.XCAT_NODE_PREFIX;
    process.env.XCAT_NODE_PREFIX = "abc";
    try {
      expect(expandNoderange("2", src)).toEqual(["abc2"]);
    } finally {
      if (saved === undefined) delete process.env.XCAT_NODE_PREFIX;
      else process.env.XCAT_NODE_PREFIX = saved;
    }
  });
});

describe("xCAT quirks kept on purpose", () => {
  test("a node wins over a group of the same name, and a bare number over a group called '10'", () => {
    expect(expand("dual")).toEqual(["dual"]);
    expect(expand("10")).toEqual(["node10"]);
  });

  test("only the first parenthesised group is combined at once: all,-(a),a keeps a; all,-a,a does not", () => {
    expect(expand("compute,-(rack1),node01")).toContain("node01");
    expect(expand("compute,-node01,node01")).not.toContain("node01");
  });

  test("@ after a leading parenthesised group applies to everything before it", () => {
    expect(expand("node05,rack1@(node03,node04)")).toEqual(["node03", "node04"]);
    expect(expand("node05,rack1@node03")).toEqual(["node03", "node05"]);
  });

  test("/a|b is anchored as ^a|b$", () => {
    expect(expand("/node1|node2")).toContain("nrtestnode2");
    expect(expand("/node1|node2")).toContain("node19");
  });

  test("a range whose left end has a leading zero counts like Perl's string increment", () => {
    expect(expand("node05-node03", { verify: false })).toEqual(seq("node", 5, 99, 2));
    expect(expand("node5-node3")).toEqual([]);
    expect(expand("node01-node1")).toEqual([]);
  });

  test("a ^file line is a noderange of its own: '-node01' in it excludes nothing", () => {
    expect(expand("^{dir}/list1")).toContain("node01");
  });

  test("a -^file still adds the file's nodes, and the exclusion carries to the next atom", () => {
    const got = expand("-^{dir}/list1,node20");
    expect(got).toContain("node01");
    expect(got).not.toContain("node20");
  });

  test("a lone - turns the next atom into an exclusion", () => {
    expect(expand("compute,-,node01")).not.toContain("node01");
  });

  test("parentheses inside /regex or =~ values are read as grouping", () => {
    const err = thrown(() => expand("nodehm.mgt!~/^(ipmi|kvm)$/"));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe("Invalid nodes and/or groups in noderange: ipmi|kvm,$/");
  });

  test("nodes without a value compare as the empty string in selectors", () => {
    expect(expand("nodetype.os==")).toContain("lonely");
    expect(expand("mgt!=ipmi")).toContain("lonely");
  });
});

interface Golden {
  expr: string;
  verify?: boolean;
  env?: Record<string, string>;
  excludenodes?: string;
  nodes: string[];
  missing: (string | null)[];
  died?: string;
}

describe("golden table: noderange-golden.json, produced by NodeRange.pm over noderange-fixture.ts", () => {
  const golden = goldenJson as Golden[];
  test("covers the fixture's cases", () => {
    expect(golden.length).toBeGreaterThan(100);
  });
  const label = (g: Golden) =>
    `${g.expr}${g.verify === false ? " (verify off)" : ""}${g.env ? ` ${JSON.stringify(g.env)}` : ""}${g.excludenodes ? ` excludenodes=${g.excludenodes}` : ""}`;
  test.each(golden.map((g) => [label(g), g] as const))("%s", (_, g) => {
    const excluded = g.excludenodes ? expandNoderange(g.excludenodes, src) : [];
    const run = () =>
      expandNoderange(g.expr.replaceAll("{dir}", VIRTUAL_DIR), fixtureSource(excluded), { verify: g.verify, env: g.env ?? {}, readFile: readFixtureFile });
    const verify = g.verify ?? true;
    if (g.died) {
      expect(thrown(run)).toBeInstanceOf(UsageError);
    } else if (verify && g.missing.length > 0) {
      const err = thrown(run);
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.message).toBe(`Invalid nodes and/or groups in noderange: ${[...new Set(g.missing)].join(",")}`);
    } else {
      expect(run()).toEqual(g.nodes);
    }
  });
});

describe("errors", () => {
  test.each(["(node01", "node01)", "a)(b", "compute,-(rack1", "(a),(b"])("unbalanced parentheses: %s", (expr) => {
    const err = thrown(() => expand(expr));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(ExitCode.USAGE);
    expect(err.message).toContain("unbalanced parentheses");
    expect(err.message).toContain(expr);
  });

  test.each([
    ["/node[", "/node["],
    ["nodetype.os=~[", "nodetype.os=~["],
    ["os==rhels8.5", "'os' is not table.column"],
    ["node1~x", "not a valid attribute selector"],
    ["node1+x", "node1+x"],
    ["cn1-ib+2", "cn1-ib+2"],
    ["node1-node99999999", "more than 1000000 names"],
    ["node[01-99999999]", "more than 1000000 names"],
  ])("bad syntax %s is a usage error naming it", (expr, part) => {
    const err = thrown(() => expand(expr));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain(part);
  });

  test("an unknown table or column in a selector is a data error", () => {
    expect(thrown(() => expand("nodetype.bogus==x"))).toBeInstanceOf(DataError);
    expect(thrown(() => expand("bogus.os==x"))).toBeInstanceOf(DataError);
  });

  test("unknown names are listed once each, in the order met, with exit code 66", () => {
    const err = thrown(() => expand("bogus,node01,node[19-22],bogus,-other"));
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).exitCode).toBe(ExitCode.NOT_FOUND);
    expect(err.message).toBe("Invalid nodes and/or groups in noderange: bogus,node21,node22,other");
  });

  test("regexes, selectors and defined empty groups that match nothing are not errors", () => {
    expect(expand("/nomatch.*,nodetype.os==none,emptygrp,dynempty")).toEqual([]);
  });

  test("an empty noderange is empty", () => {
    expect(expand("")).toEqual([]);
  });
});

describe("verify: false (node set creating nodes)", () => {
  test.each([
    ["newnode", ["newnode"]],
    ["newnode[01-03]", ["newnode01", "newnode02", "newnode03"]],
    ["node01,newnode1", ["newnode1", "node01"]],
    ["compute,newnode", ["newnode", ...seq("node", 1, 9, 2)]],
    ["newnode10+2", ["newnode10", "newnode11", "newnode12"]],
    ["f[1-2]x[1-2]", ["f1x1", "f1x2", "f2x1", "f2x2"]],
    ["foo-bar-baz", ["foo-bar-baz"]],
    ["/node0[1-3]", ["/node0[1-3]"]],
  ])("%s", (expr, want) => {
    expect(expand(expr, { verify: false })).toEqual(want);
  });
});

describe("^file", () => {
  test("comments, ^lines, text after : tab or space, CRLF line ends, ranges and exclusions after the file", () => {
    const path = join(dir, "nodes.txt");
    writeFileSync(path, "# my nodes\r\n^/etc/passwd\r\nnode01  # first\r\nnode02\tsecond\r\nnode03:x\r\nf1n[1-2]\r\n\r\n");
    expect(expandNoderange(`^${path}`, src)).toEqual(["f1n1", "f1n2", "node01", "node02", "node03"]);
    expect(expandNoderange(`^${path},-node02`, src)).toEqual(["f1n1", "f1n2", "node01", "node03"]);
  });

  test("a file of comments only gives no nodes", () => {
    const path = join(dir, "comments.txt");
    writeFileSync(path, "# a comment line\n\n");
    expect(expandNoderange(`^${path}`, src)).toEqual([]);
  });

  test("an unreadable file is an error (xCAT silently skips it)", () => {
    const err = thrown(() => expandNoderange(`^${join(dir, "absent")}`, src));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(join(dir, "absent"));
    // xCAT reads "noeol@legacy" as the file name here, too
    expect(thrown(() => expand("rack1,^{dir}/noeol@legacy"))).toBeInstanceOf(NotFoundError);
  });

  test("the path is only ever opened, never run (xCAT-test/unit/noderange_file_operator.t)", () => {
    const marker = join(dir, "marker");
    const err = thrown(() => expandNoderange(`^touch ${marker} |`, src));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(existsSync(marker)).toBe(false);
  });

  test("a file that includes itself through one of its ranges is stopped", () => {
    const path = join(dir, "loop.txt");
    writeFileSync(path, `node01,^${path}\n`);
    expect(thrown(() => expandNoderange(`^${path}`, src))).toBeInstanceOf(UsageError);
  });

  test("unknown names in a file are reported", () => {
    const path = join(dir, "unknown.txt");
    writeFileSync(path, "node01\nghost\n");
    expect(thrown(() => expandNoderange(`^${path}`, src)).message).toBe("Invalid nodes and/or groups in noderange: ghost");
  });
});

describe("memoryNodeSource", () => {
  test("site exclusions are removed from every result", () => {
    const s = memoryNodeSource({ nodes: ["a1", "a2", "a3"], groups: { g: ["a1", "a2", "a3"] }, excluded: ["a2"] });
    expect(expandNoderange("g", s)).toEqual(["a1", "a3"]);
    expect(expandNoderange("a2", s)).toEqual([]);
  });

  test("nodelist.groups is derived from the group lists when not given", () => {
    const s = memoryNodeSource({ nodes: ["a1", "a2"], groups: { ib: ["a1"], all: ["a1", "a2"] } });
    expect(expandNoderange("groups=~ib", s)).toEqual(["a1"]);
    expect(s.attribute("nodelist", "groups").get("a1")).toBe("ib,all");
  });

  test("unknown table or column is a DataError", () => {
    const s = memoryNodeSource({ nodes: ["a1"] });
    expect(() => s.attribute("nodetype", "bogus")).toThrow(DataError);
    expect(() => s.attribute("bogus", "os")).toThrow(DataError);
    expect(s.attribute("nodetype", "os").size).toBe(0);
  });
});

describe("dbNodeSource (real in-memory SQLite)", () => {
  function clusterDb(): Db {
    const db = openTestDb(":memory:");
    db.write(() => {
      for (let i = 1; i <= 6; i++) {
        const node = `cn${i}`;
        upsert(db, "nodelist", { node }, { groups: i <= 4 ? "compute, all" : "all,login" });
        upsert(db, "nodetype", { node }, { os: i <= 3 ? "rhels8.5" : "sles15", arch: i % 2 ? "x86_64" : "ppc64le" });
      }
      upsert(db, "nodelist", { node: "retired" }, { groups: "compute", disable: "1" });
      upsert(db, "nodehm", { node: "compute" }, { mgt: "ipmi" }); // a group row, inherited by its nodes
      upsert(db, "nodehm", { node: "cn4" }, { mgt: "kvm" });
      upsert(db, "hosts", { node: "compute" }, { ip: "|cn(\\d+)|10.0.0.($1+10)|" });
      upsert(db, "nodegroup", { groupname: "emptygrp" }, { grouptype: "static" });
      upsert(db, "nodegroup", { groupname: "rh" }, { grouptype: "dynamic", wherevals: "os==rhels8.5::arch=~/x86/" });
      upsert(db, "nodegroup", { groupname: "bynode" }, { grouptype: "dynamic", wherevals: "node=~^cn[56]$" });
      upsert(db, "nodegroup", { groupname: "nobody" }, { grouptype: "dynamic", wherevals: "profile!=compute" });
      upsert(db, "nodegroup", { groupname: "login" }, { grouptype: "dynamic", wherevals: "os==sles15" }); // dynamic wins over nodelist.groups
    });
    return db;
  }

  test("nodes, static groups from nodelist.groups (trimmed), disabled rows ignored", () => {
    const db = clusterDb();
    const s = dbNodeSource(db);
    expect([...s.allNodes()].sort()).toEqual(seq("cn", 1, 6));
    expect(expandNoderange("compute", s)).toEqual(["cn1", "cn2", "cn3", "cn4"]);
    expect(expandNoderange("all,-compute", s)).toEqual(["cn5", "cn6"]);
    expect(thrown(() => expandNoderange("retired", s))).toBeInstanceOf(NotFoundError);
  });

  test("nodegroup: defined empty group, dynamic groups by attribute and by node name", () => {
    const s = dbNodeSource(clusterDb());
    expect(s.groupMembers("emptygrp")).toEqual([]);
    expect(s.groupMembers("nosuch")).toBeUndefined();
    expect(expandNoderange("emptygrp", s)).toEqual([]);
    expect(expandNoderange("rh", s)).toEqual(["cn1", "cn3"]);
    expect(expandNoderange("bynode", s)).toEqual(["cn5", "cn6"]);
    expect(expandNoderange("login", s)).toEqual(["cn4", "cn5", "cn6"]);
    // profile is set on no node, and a node without the attribute never matches a dynamic test
    expect(expandNoderange("nobody", s)).toEqual([]);
  });

  test("a broken wherevals is a data error naming the group", () => {
    const db = clusterDb();
    upsert(db, "nodegroup", { groupname: "broken" }, { grouptype: "dynamic", wherevals: "colour==blue" });
    const err = thrown(() => expandNoderange("broken", dbNodeSource(db)));
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toContain("broken");
  });

  test("attribute selectors, with values inherited from group rows and computed from regex values", () => {
    const s = dbNodeSource(clusterDb());
    expect(expandNoderange("nodetype.os==rhels8.5", s)).toEqual(["cn1", "cn2", "cn3"]);
    expect(expandNoderange("mgt==ipmi", s)).toEqual(["cn1", "cn2", "cn3"]);
    expect(expandNoderange("mgt!=ipmi", s)).toEqual(["cn4", "cn5", "cn6"]);
    expect(expandNoderange("nodehm.mgt==kvm", s)).toEqual(["cn4"]);
    expect(expandNoderange("hosts.ip==10.0.0.12", s)).toEqual(["cn2"]);
    expect(expandNoderange("groups=~login", s)).toEqual(["cn5", "cn6"]);
    expect(expandNoderange("compute@nodetype.arch==ppc64le", s)).toEqual(["cn2", "cn4"]);
  });

  test("selectors on unknown columns or tables not keyed by node are data errors", () => {
    const s = dbNodeSource(clusterDb());
    expect(thrown(() => expandNoderange("nodetype.colour==blue", s))).toBeInstanceOf(DataError);
    expect(thrown(() => expandNoderange("osimage.provmethod==netboot", s))).toBeInstanceOf(DataError);
    expect(thrown(() => expandNoderange("nosuch.os==x", s))).toBeInstanceOf(DataError);
  });

  test("site.excludenodes is a noderange removed from every result; unknown names in it are ignored", () => {
    const db = clusterDb();
    upsert(db, "site", { key: "excludenodes" }, { value: "cn2,login@cn6,long-gone" });
    const s = dbNodeSource(db);
    expect(s.excludedNodes()).toEqual(["cn2", "cn6"]);
    expect(expandNoderange("all", s)).toEqual(["cn1", "cn3", "cn4", "cn5"]);
    expect(expandNoderange("cn2", s)).toEqual([]);
  });

  test("sees changes made after it was created", () => {
    const db = clusterDb();
    const s = dbNodeSource(db);
    expect(expandNoderange("compute", s)).toEqual(["cn1", "cn2", "cn3", "cn4"]);
    upsert(db, "nodelist", { node: "cn7" }, { groups: "compute" });
    expect(expandNoderange("compute", s)).toEqual(["cn1", "cn2", "cn3", "cn4", "cn7"]);
    upsert(db, "site", { key: "excludenodes" }, { value: "cn1" });
    expect(expandNoderange("compute", s)).toEqual(["cn2", "cn3", "cn4", "cn7"]);
  });

  test("verify: false returns new names as typed and still expands groups", () => {
    const s = dbNodeSource(clusterDb());
    expect(expandNoderange("login,cn[7-8]", s, { verify: false })).toEqual(["cn4", "cn5", "cn6", "cn7", "cn8"]);
  });
});

describe("scale", () => {
  const names = seq("n", 1, 10000, 5);
  const timed = <T>(fn: () => T): [T, number] => {
    const start = performance.now();
    const out = fn();
    return [out, performance.now() - start];
  };

  test("10,000-node ranges and exclusions from memory are fast", () => {
    const s = memoryNodeSource({ nodes: names, groups: { compute: names } });
    const [all, t1] = timed(() => expandNoderange("n[00001-10000]", s));
    expect(all.length).toBe(10000);
    expect(all[0]).toBe("n00001");
    expect(all[9999]).toBe("n10000");
    const [half, t2] = timed(() => expandNoderange("compute,-n[00001-05000]", s));
    expect(half.length).toBe(5000);
    expect(half[0]).toBe("n05001");
    const [fresh, t3] = timed(() => expandNoderange("m[00001-10000]", s, { verify: false }));
    expect(fresh.length).toBe(10000);
    expect(t1 + t2 + t3).toBeLessThan(1000);
  });

  test("10,000 nodes from SQLite are fast", () => {
    const db = openTestDb(":memory:");
    db.write(() => {
      for (const node of names) upsert(db, "nodelist", { node }, { groups: "compute,all" });
    });
    const s = dbNodeSource(db);
    const [half, t1] = timed(() => expandNoderange("compute,-n[00001-05000]", s));
    expect(half.length).toBe(5000);
    const [fresh, t2] = timed(() => expandNoderange("m[00001-10000],n00001-n00010", s, { verify: false }));
    expect(fresh.length).toBe(10010);
    expect(t1 + t2).toBeLessThan(1000);
  });
});
