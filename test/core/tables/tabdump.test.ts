import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allRows, upsert } from "../../../src/core/db/rows";
import { TABLES } from "../../../src/core/db/tables";
import { DataError } from "../../../src/core/errors";
import { dumpCsv, parseCsv } from "../../../src/core/tables/csv";
import { dumpTable, restoreTable } from "../../../src/core/tables/ops";
import { openTestDb } from "../../helpers/test-db";

const dir = mkdtempSync(join(tmpdir(), "xcimg-tabdump-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fresh = (name: string) => openTestDb(join(dir, `${name}.db`));

describe("tabdump format", () => {
  test("header, quoting, doubled quotes, bare empty fields, N-1 commas", () => {
    const csv = dumpCsv(
      ["image", "file", "options", "comments", "disable"],
      [
        { image: "ALL", file: "/etc/adjtime", options: "tmpfs" },
        { image: "img", file: '/etc/a "b",c', comments: "x" },
      ],
    );
    expect(csv).toBe('#image,file,options,comments,disable\n"ALL","/etc/adjtime","tmpfs",,\n"img","/etc/a ""b"",c",,"x",\n');
  });

  test("an empty table dumps only its header", () => {
    const db = fresh("empty");
    expect(dumpTable(db, "litetree")).toBe("#priority,image,directory,mntopts,comments,disable\n");
  });

  test("rows come out in insertion order, updates keep their place", () => {
    const db = fresh("order");
    upsert(db, "site", { key: "b" }, { value: "1" });
    upsert(db, "site", { key: "a" }, { value: "2" });
    upsert(db, "site", { key: "b" }, { value: "3" });
    expect(dumpTable(db, "site")).toBe('#key,value,comments,disable\n"b","3",,\n"a","2",,\n');
  });
});

describe("tabrestore", () => {
  test("xCAT's own litefile.csv (xCAT-test installation/litefile.csv) round-trips byte for byte", () => {
    const file = join(import.meta.dir, "..", "..", "fixtures", "litefile.csv");
    const text = readFileSync(file, "utf8");
    const db = fresh("litefile");
    const n = restoreTable(db, "litefile", text, file);
    expect(n).toBe(text.trim().split("\n").length - 1);
    expect(dumpTable(db, "litefile")).toBe(text);
  });

  test("embedded commas, quotes, newlines and empty fields round-trip", () => {
    const text = [
      "#node,groups,status,statustime,appstatus,appstatustime,primarysn,hidden,updatestatus,updatestatustime,zonename,comments,disable",
      '"cn001","compute,all",,,,,,,,,,"say ""hi"", twice",',
      '"cn002","compute",,,,,,,,,,"two',
      'lines",',
      '"cn003",,,,,,,,,,,,"1"',
      "",
    ].join("\n");
    const db = fresh("nodelist");
    restoreTable(db, "nodelist", text, "nodelist.csv");
    expect(allRows(db, "nodelist")).toEqual([
      { node: "cn001", groups: "compute,all", comments: 'say "hi", twice' },
      { node: "cn002", groups: "compute", comments: "two\nlines" },
      { node: "cn003", disable: "1" },
    ]);
    expect(dumpTable(db, "nodelist")).toBe(text);
  });

  test("quoted header, unquoted values, short rows, subset of columns", () => {
    const db = fresh("subset");
    restoreTable(db, "osimage", '#"imagename","provmethod","osvers"\nimg1,netboot,rhels9.4\n"img2",install\n', "osimage.csv");
    expect(allRows(db, "osimage")).toEqual([
      { imagename: "img1", provmethod: "netboot", osvers: "rhels9.4" },
      { imagename: "img2", provmethod: "install" },
    ]);
  });

  test("a header quoted as a whole is accepted too", () => {
    const db = fresh("quotedheader");
    restoreTable(db, "site", '"#key","value"\n"a","1"\n', "site.csv");
    expect(allRows(db, "site")).toEqual([{ key: "a", value: "1" }]);
  });

  test("restore replaces, -a adds", () => {
    const db = fresh("replace");
    restoreTable(db, "site", '#key,value\n"a","1"\n', "site.csv");
    restoreTable(db, "site", '#key,value\n"b","2"\n', "site.csv");
    expect(allRows(db, "site").map((r) => r.key)).toEqual(["b"]);
    restoreTable(db, "site", '#key,value\n"c","3"\n', "site.csv", { addRows: true });
    expect(allRows(db, "site").map((r) => r.key)).toEqual(["b", "c"]);
  });

  test("a key given twice keeps its first place and its last values (xCAT setAttribs per line)", () => {
    const db = fresh("dupkey");
    restoreTable(db, "site", '#key,value,comments\n"a","1","first"\n"b","2",\n"a","3",\n', "site.csv");
    expect(dumpTable(db, "site")).toBe('#key,value,comments,disable\n"a","3",,\n"b","2",,\n');
  });

  test("10,000 rows restore in one go and dump in file order", () => {
    const db = fresh("many");
    const lines = Array.from({ length: 10_000 }, (_, i) => `"n${String(10_000 - i).padStart(5, "0")}","compute,all",,,,,,,,,,,`);
    const text = `#node,groups,status,statustime,appstatus,appstatustime,primarysn,hidden,updatestatus,updatestatustime,zonename,comments,disable\n${lines.join("\n")}\n`;
    expect(restoreTable(db, "nodelist", text, "nodelist.csv")).toBe(10_000);
    expect(dumpTable(db, "nodelist")).toBe(text);
  });

  const bad: [string, string, RegExp][] = [
    ["no header", '"a","1"\n', /site\.csv:1: data missing header line starting with #/],
    ["unknown column", "#key,valeu\n", /site\.csv:1: the header names column 'valeu'/],
    ["unmatched quote", '#key,value\n"a","1\n', /site\.csv:2: unmatched "/],
    ["unescaped quote", '#key,value\n"a","x"y"\n', /site\.csv:2: unescaped " inside field value/],
    ["missing opening quote", '#key,value\n"a",x"y\n', /site\.csv:2: missing opening "/],
    ["too many fields", '#key,value\n"a","1","extra"\n', /site\.csv:2: too many fields/],
    ["missing key", '#key,value\n"a","1"\n,"2"\n', /site\.csv:3: site row has no key/],
  ];
  for (const [what, text, msg] of bad) {
    test(`malformed CSV (${what}): error with line number, nothing written`, () => {
      const db = fresh(`bad-${what.replace(/\W/g, "")}`);
      upsert(db, "site", { key: "keep" }, { value: "me" });
      expect(() => restoreTable(db, "site", text, "site.csv")).toThrow(msg);
      expect(() => restoreTable(db, "site", text, "site.csv")).toThrow(DataError);
      expect(allRows(db, "site")).toEqual([{ key: "keep", value: "me" }]);
    });
  }

  test("required columns of litetree and statelite are enforced", () => {
    const db = fresh("required");
    expect(() => restoreTable(db, "litetree", '#priority,image,directory\n"1","ALL",\n', "litetree.csv")).toThrow(
      /litetree\.csv:2: litetree row has no directory/,
    );
    expect(() => restoreTable(db, "statelite", '#node,statemnt\n"cn1",\n', "statelite.csv")).toThrow(/statelite row has no statemnt/);
  });

  test("every table xCAT names in the issue exists with Schema.pm's columns", () => {
    for (const t of [
      "site",
      "nodelist",
      "nodetype",
      "noderes",
      "nodehm",
      "mac",
      "hosts",
      "osimage",
      "linuximage",
      "litefile",
      "litetree",
      "statelite",
      "postscripts",
    ]) {
      expect(TABLES).toHaveProperty(t);
    }
    expect(TABLES.linuximage.cols.join(",")).toBe(
      "imagename,template,boottarget,addkcmdline,pkglist,pkgdir,otherpkglist,otherpkgdir,exlist,postinstall,rootimgdir,kerneldir,nodebootif,otherifce,netdrivers,kernelver,krpmver,permission,dump,crashkernelsize,partitionfile,driverupdatesrc,comments,disable",
    );
    const parsed = parseCsv("#imagename\n", "x", TABLES.osimage.cols);
    expect(parsed.rows).toEqual([]);
  });
});
