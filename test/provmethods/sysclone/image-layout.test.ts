import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readCaptureRecord } from "../../../src/core/capture/record";
import { openDb } from "../../../src/core/db/open";
import { goldenGpt } from "../../helpers/clone-layouts";
import { Sandbox } from "../../helpers/sandbox";

/**
 * `xcimg image layout`: a sysclone image's recorded disk layout shown and set from a file
 * (issue #17, "Sysclone images are portable"), so an image without one (imported, or defined
 * by hand over a tree) can be cloned without its golden node. A file clone could not use is
 * refused with its reason and nothing is written.
 */
let sb: Sandbox;
const record = (image: string) => {
  const db = openDb(sb.dbPath);
  try {
    return readCaptureRecord(db, image);
  } finally {
    db.close();
  }
};
const file = (name: string, text: string) => {
  const p = join(sb.dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(async () => {
  sb = new Sandbox("image-layout");
  expect((await sb.run("node", "set", "cn01", "groups=all", "mac=52:54:00:00:00:01")).code).toBe(0);
  expect((await sb.run("image", "set", "nb", "provmethod=netboot", "osvers=debian12", "osarch=x86_64", "profile=compute")).code).toBe(0);
  for (const name of ["sc", "sc2"]) {
    const tree = join(sb.installdir, "sysclone/images", name);
    expect((await sb.run("image", "set", name, "provmethod=sysclone", "osvers=debian12", "osarch=x86_64", `rootimgdir=${tree}`)).code).toBe(0);
    mkdirSync(join(tree, "boot"), { recursive: true });
    writeFileSync(join(tree, "boot/vmlinuz-6.1.0-9-amd64"), "kernel");
  }
});
afterAll(() => sb.cleanup());

describe("xcimg image layout", () => {
  test("an image without a layout says so; clone refuses it", async () => {
    const r = await sb.run("image", "layout", "sc");
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("image 'sc' has no recorded disk layout");
    expect(r.stderr).toContain("xcimg image layout sc --set <file>");
    expect((await sb.run("clone", "cn01", "-o", "sc", "--dry-run")).stderr).toContain("no recorded disk layout");
  });

  test("--set takes a recorded layout; show prints it as text and as JSON; clone gets past the layout", async () => {
    const { layout } = goldenGpt();
    const set = await sb.run("image", "layout", "sc", "--set", file("gpt.json", JSON.stringify(layout)));
    expect(set.code).toBe(0);
    expect(set.stdout).toContain("Set the disk layout of sc from");
    expect(set.stdout).toMatch(/^disk \S+: gpt, /m);
    expect(set.stdout).toMatch(/ext4 \/$/m);
    expect(record("sc")?.disk_layout).toEqual(layout);
    expect(record("sc")?.tree).toBe(join(sb.installdir, "sysclone/images/sc"));

    const shown = await sb.run("image", "layout", "sc");
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe(set.stdout.split("\n").slice(1).join("\n"));
    const json = await sb.run("--json", "image", "layout", "sc");
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.layout).toEqual(layout);
    expect(out.set).toBe(false);
    // the layout stage passes now: whatever clone says next, it is not the missing layout
    const clone = await sb.run("clone", "cn01", "-o", "sc", "--dry-run");
    expect(clone.stderr).not.toContain("no recorded disk layout");

    // what --json prints is what --set reads: one image's layout onto another
    const copy = await sb.run("image", "layout", "sc2", "--set", file("out.json", json.stdout));
    expect(copy.code).toBe(0);
    expect(record("sc2")?.disk_layout).toEqual(layout);
  });

  test("a file clone could not use is refused with its reason; the recorded layout stays", async () => {
    const before = record("sc");
    const { layout } = goldenGpt();
    const noRoot = { ...layout, filesystems: { filesystems: [] } };
    const cases: [string[], number, RegExp][] = [
      [["sc", "--set", join(sb.dir, "missing.json")], 66, /cannot read .*missing\.json: no such file/],
      [["sc", "--set", file("bad.json", "{not json")], 65, /bad\.json is not JSON/],
      [["sc", "--set", file("list.json", "[1,2]")], 65, /list\.json does not hold a disk layout: it is not a JSON object/],
      [
        ["sc", "--set", file("shape.json", JSON.stringify({ firmware: 7, lsblk: [] }))],
        65,
        /'firmware' must be a string; 'lsblk' must be an object; 'filesystems' must be an object/,
      ],
      [["sc", "--set", file("noroot.json", JSON.stringify(noRoot))], 65, /does not say which device held \//],
      [["nb", "--set", file("gpt2.json", JSON.stringify(layout))], 64, /provmethod 'netboot', which does not support 'layout'/],
      [["nope"], 66, /Cannot find image 'nope'/],
    ];
    for (const [argv, code, msg] of cases) {
      const r = await sb.run("image", "layout", ...argv);
      expect(r.code, argv.join(" ")).toBe(code);
      expect(r.stderr, argv.join(" ")).toMatch(msg);
    }
    expect(record("sc")).toEqual(before);
    expect(record("nb")).toBeNull();
  });
});
