import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDb } from "../../../src/core/db/open";
import { ilitefileLine, imageLiteEntries, lsliteLine, parseSavedList } from "../../../src/provmethods/statelite/litefile";
import { Sandbox } from "../../helpers/sandbox";

/** ilitefile's merge order, lslite -i's format, and editing the statelite tables by hand. */
const sb = new Sandbox("litefile");
const IMG = "rhels9-x86_64-statelite-compute";

beforeAll(async () => {
  expect((await sb.run("image", "set", IMG, "provmethod=statelite", "osvers=rhels9", "osarch=x86_64", "profile=compute", "groups=hpcimg")).code).toBe(0);
  expect((await sb.run("image", "set", "other", "provmethod=netboot", "osvers=rhels9", "osarch=x86_64", "profile=other")).code).toBe(0);
  const csv = [
    "#image,file,options,comments,disable",
    // image-specific first in the table: it must still win (merge order, not row order)
    `"${IMG}","/var/log/","link,persistent",,`,
    `"ALL","/var/log/","persistent",,`,
    `"hpcimg","/var/log/","rw",,`,
    `"hpcimg","/opt/app/","ro",,`,
    `"ALL","/opt/app/","link",,`, // ALL beats the groups value
    `"ALL","/etc/hosts",,,`, // empty options: tmpfs,rw
    `"${IMG}","/etc/mtab","persistent",,`, // forced to tmpfs,rw
    `"ALL","/tmp/","tmpfs",,"1"`, // disabled: ignored
    `"other","/etc/other","tmpfs",,`, // another image: not ours
    `"ALL","/a-very-long-option-file","link,persistent",,`,
  ].join("\n");
  writeFileSync(join(sb.dir, "litefile.csv"), `${csv}\n`);
  expect((await sb.run("table", "restore", join(sb.dir, "litefile.csv"))).code).toBe(0);
});
afterAll(() => sb.cleanup());

describe("ilitefile merge", () => {
  test("groups value, ALL, image name (xCAT also reads image='', which its schema and ours forbid); later wins; defaults; /etc/mtab forced; disabled rows ignored", () => {
    const db = openDb(sb.dbPath);
    try {
      expect(imageLiteEntries(db, IMG)).toEqual([
        { file: "/a-very-long-option-file", options: "link,persistent" },
        { file: "/etc/hosts", options: "tmpfs,rw" },
        { file: "/etc/mtab", options: "tmpfs,rw" },
        { file: "/opt/app/", options: "link" },
        { file: "/var/log/", options: "link,persistent" },
      ]);
      // without a /etc/mtab row, xCAT adds one as "link"
      expect(imageLiteEntries(db, "other")).toContainEqual({ file: "/etc/mtab", options: "link" });
    } finally {
      db.close();
    }
  });

  test("ilitefile lines use %-13s and parse back (litefile.save)", () => {
    const line = ilitefileLine(IMG, { file: "/etc/hosts", options: "link" });
    expect(line).toBe(`${IMG}: link          /etc/hosts`);
    expect(ilitefileLine("i", { file: "/x", options: "link,persistent" })).toBe("i: link,persistent /x");
    expect(parseSavedList(`${line}\ni: link,persistent /x\n\n`)).toEqual([
      { file: "/etc/hosts", options: "link" },
      { file: "/x", options: "link,persistent" },
    ]);
  });
});

describe("xcimg lite --list (lslite -i)", () => {
  test("prints exactly lslite -i's lines, tmpfs,rw not rewritten", async () => {
    const r = await sb.run("lite", "--list", IMG);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "        link,persistent /a-very-long-option-file",
        "        tmpfs,rw      /etc/hosts",
        "        tmpfs,rw      /etc/mtab",
        "        link          /opt/app/",
        "        link,persistent /var/log/",
        "",
      ].join("\n"),
    );
    expect(lsliteLine({ file: "/f", options: "ro" })).toBe("        ro            /f");
  });

  test("works for any defined osimage, whatever its provmethod", async () => {
    const r = await sb.run("lite", "--list", "other");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("        tmpfs         /etc/other\n");
  });

  test("--json gives the entries", async () => {
    const r = await sb.run("--json", "lite", "--list", IMG);
    expect(JSON.parse(r.stdout)[1]).toEqual({ file: "/etc/hosts", options: "tmpfs,rw" });
  });

  test("an undefined image: lslite's message", async () => {
    const r = await sb.run("lite", "--list", "nosuch");
    expect(r.code).toBe(66);
    expect(r.stderr).toStartWith("Error: The osimage named 'nosuch' is not defined.\n");
  });
});

describe("editing litefile, litetree and statelite with table set", () => {
  test("litefile rows by image and file, options cleared with options=", async () => {
    expect((await sb.run("table", "set", "litefile", `image=${IMG},file=/etc/ssh/`, "options=tmpfs")).code).toBe(0);
    expect((await sb.run("table", "set", "litefile", `image=${IMG},file=/etc/ssh/`, "options=")).code).toBe(0);
    const r = await sb.run("lite", "--list", IMG);
    expect(r.stdout).toContain("        tmpfs,rw      /etc/ssh/\n");
  });

  test("a file name with a comma stays one key value", async () => {
    expect((await sb.run("table", "set", "litefile", "image=ALL,file=/etc/a,b", "options=ro")).code).toBe(0);
    expect((await sb.run("table", "dump", "litefile")).stdout).toContain('"ALL","/etc/a,b","ro",,\n');
    expect((await sb.run("table", "rm", "litefile", "image=ALL,file=/etc/a,b")).code).toBe(0);
  });

  test("bad litefile values are refused at set time", async () => {
    const bad = await sb.run("table", "set", "litefile", "image=ALL,file=/etc/x", "options=tmpfs,persistent");
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain(
      "'tmpfs,persistent' is not a litefile option; valid: tmpfs persistent localdisk rw ro con link tmpfs,rw link,ro link,persistent link,con",
    );
    const rel = await sb.run("table", "set", "litefile", "image=ALL,file=etc/x", "options=tmpfs");
    expect(rel.code).toBe(64);
    expect(rel.stderr).toStartWith("Error: etc/x is not one absolute path.\n");
  });

  test("litetree rows keyed by a numeric priority, with mntopts; dump in xCAT's format", async () => {
    expect((await sb.run("table", "set", "litetree", "priority=2", "image=ALL", "directory=10.0.0.1:/statelite/$node", "mntopts=nolock,tcp")).code).toBe(0);
    expect((await sb.run("table", "set", "litetree", "priority=1.5", `image=${IMG}`, "directory=/local/tree")).code).toBe(0);
    expect((await sb.run("table", "dump", "litetree")).stdout).toBe(
      '#priority,image,directory,mntopts,comments,disable\n"2","ALL","10.0.0.1:/statelite/$node","nolock,tcp",,\n"1.5","rhels9-x86_64-statelite-compute","/local/tree",,,\n',
    );
    const bad = await sb.run("table", "set", "litetree", "priority=first", "directory=/x");
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("litetree priority is a number");
    const noDir = await sb.run("table", "set", "litetree", "priority=9", "image=ALL");
    expect(noDir.code).toBe(64);
    expect(noDir.stderr).toContain("litetree rows need directory");
  });

  test("statelite rows for a node or a group; statemnt must be [server:]/path", async () => {
    expect((await sb.run("table", "set", "statelite", "node=compute", "statemnt=10.0.0.1:/nodedata", "mntopts=nolock,tcp,vers=3")).code).toBe(0);
    expect((await sb.run("table", "set", "statelite", "node=cn001", "statemnt=$noderes.nfsserver:/nodedata")).code).toBe(0);
    const bad = await sb.run("table", "set", "statelite", "node=cn002", "statemnt=nodedata");
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("statemnt is [server:]/path");
    expect((await sb.run("table", "dump", "statelite")).stdout).toBe(
      '#node,image,statemnt,mntopts,comments,disable\n"compute",,"10.0.0.1:/nodedata","nolock,tcp,vers=3",,\n"cn001",,"$noderes.nfsserver:/nodedata",,,\n',
    );
  });

  test("table restore loads what xCAT dumped, even values set would refuse (lite reports them)", async () => {
    const f = join(sb.dir, "statelite.csv");
    writeFileSync(f, '#node,image,statemnt,mntopts,comments,disable\n"all",,"odd value",,,\n');
    expect((await sb.run("table", "restore", f)).code).toBe(0);
    expect((await sb.run("table", "dump", "statelite")).stdout).toContain('"all",,"odd value",,,');
  });
});
