import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { missingMountSafety } from "../../../src/core/image/mount-options";
import { expectGolden } from "../../helpers/golden";
import { Sandbox } from "../../helpers/sandbox";
import { LITEFILE_ROWS, listTree, makeImageRoot, metadata } from "../../helpers/statelite-fixture";

/**
 * `xcimg lite` against a litefile table that uses every option and every parent/child shape;
 * the resulting tree (files, directories, modes, symlink targets) is compared with golden
 * listings checked in under test/fixtures/statelite/, first run, re-run after changes, and
 * after every row is gone.
 */
const IMG = "debian12-x86_64-statelite-compute";
const sb = new Sandbox("lite-tree");
const rootimg = join(sb.installdir, "netboot", "debian12", "x86_64", "compute", "rootimg");
let original = "";
let keyMeta = "";
let bashrcMeta = "";

function csv(rows: [string, string, string][]): string {
  const q = (v: string) => (v === "" ? "" : `"${v}"`);
  return `#image,file,options,comments,disable\n${rows.map(([i, f, o]) => `${q(i)},${q(f)},${q(o)},,`).join("\n")}\n`;
}

async function restore(rows: [string, string, string][]): Promise<void> {
  const file = join(sb.dir, "litefile.csv");
  writeFileSync(file, csv(rows));
  const r = await sb.run("table", "restore", "litefile", file);
  expect(r.code).toBe(0);
}

async function lite(): Promise<{ code: number; stderr: string }> {
  const r = await sb.run("lite", IMG);
  if (r.code !== 0) console.error(r.stderr);
  return r;
}

beforeAll(async () => {
  expect((await sb.run("image", "set", IMG, "provmethod=statelite", "osvers=debian12", "osarch=x86_64", "profile=compute")).code).toBe(0);
  makeImageRoot(rootimg);
  original = listTree(rootimg);
  keyMeta = metadata(join(rootimg, "etc/ssh/ssh_host_key"));
  bashrcMeta = metadata(join(rootimg, "root/.bashrc"));
  await restore(LITEFILE_ROWS);
});
afterAll(() => sb.cleanup());

describe("xcimg lite: image-time structure", () => {
  test("first run builds .default/ and .statelite/tmpfs/ exactly as the golden listing", async () => {
    const r = await lite();
    expect(r.code).toBe(0);
    // an NFS root stays 0755 (the nodes' /); where its filesystem lets setuid programs work, lite says so
    const warn = `Warning: ${rootimg} is exported to nodes as their root and is open to local users`;
    expect(r.stderr.includes(warn)).toBe(missingMountSafety(rootimg).length > 0);
    const lines = r.stderr.split("\n").filter((l) => !l.startsWith(warn));
    expect(lines.join("\n")).toBe(`Modifying ${rootimg} ...\ncreating ${rootimg}/.statelite\nModifying ${rootimg} done.\n`);
    expectGolden(listTree(rootimg), "statelite/lite-first.txt");
    expectGolden(readFileSync(join(rootimg, ".statelite/litefile.save"), "utf8"), "statelite/lite-first.save");
  });

  test("cp -a keeps owner, mode, mtime and xattrs of what goes to .default", () => {
    expect(metadata(join(rootimg, ".default/etc/ssh/ssh_host_key"))).toBe(keyMeta);
    expect(metadata(join(rootimg, ".default/root/.bashrc"))).toBe(bashrcMeta);
    expect(keyMeta).toContain("1234:1234 600 2001-02-03T04:05:06.000Z xattr=kept");
  });

  test("absolute symlinks resolve inside the image, never on the management node", () => {
    expect(readFileSync(join(rootimg, ".default/etc/localtime"), "utf8")).toBe("TZif-fake-utc\n");
    // var/run -> ../run: its content went to .default, ../run itself is untouched
    expect(readFileSync(join(rootimg, ".default/var/run/daemon.pid"), "utf8")).toBe("42\n");
    expect(readFileSync(join(rootimg, "run/daemon.pid"), "utf8")).toBe("42\n");
  });

  test("the fstab root line <profile>_<arch> becomes ro, other lines stay", () => {
    expect(readFileSync(join(rootimg, "etc/fstab"), "utf8")).toBe("compute_x86_64 / tmpfs ro 0 1\nproc /proc proc rw 0 0\n");
  });

  test("a second run with the same table changes nothing", async () => {
    const before = listTree(rootimg);
    expect((await lite()).code).toBe(0);
    expect(listTree(rootimg)).toBe(before);
  });

  test("re-run after changing and removing entries reverts them and applies the new list", async () => {
    const rows = LITEFILE_ROWS.filter(([, f]) => f !== "/root/" && f !== "/etc/motd" && f !== "/var/log/messages").map(([i, f, o]): [string, string, string] =>
      f === "/etc/hosts" ? [i, f, "persistent"] : f === "/etc/ssh/" ? [i, f, "link"] : [i, f, o],
    );
    rows.push([IMG, "/etc/added.conf", "link"]);
    await restore(rows);
    const r = await lite();
    expect(r.code).toBe(0);
    expect(existsSync(join(rootimg, ".statebackup"))).toBe(false);
    expectGolden(listTree(rootimg), "statelite/lite-second.txt");
    expectGolden(readFileSync(join(rootimg, ".statelite/litefile.save"), "utf8"), "statelite/lite-second.save");
    // /root came back as a real directory with the content .default held
    expect(readFileSync(join(rootimg, ".default/root/.bashrc"), "utf8")).toBe("alias ll='ls -l'\n");
    expect(metadata(join(rootimg, ".default/root/.bashrc"))).toBe(bashrcMeta);
  });

  test("removing every row restores the original files (only /etc/mtab stays linked)", async () => {
    await restore([]);
    expect((await lite()).code).toBe(0);
    const now = listTree(rootimg);
    expectGolden(now, "statelite/lite-empty.txt");
    const nowLines = new Set(now.split("\n"));
    // ro root line; linked; removed by lite; link entries that were symlinks come back as a
    // copy of what they pointed to (their content is what .default kept)
    const changed = ["/etc/fstab", "/etc/mtab", "/tmp/dracut.abc123", "/etc/localtime", "/var/run"];
    for (const line of original.split("\n")) {
      if (!line || changed.some((c) => line.includes(` ${c}`))) continue;
      expect(nowLines.has(line) ? line : `missing: ${line}`).toBe(line);
    }
    expect(metadata(join(rootimg, "etc/ssh/ssh_host_key"))).toBe(keyMeta);
    expect(metadata(join(rootimg, "root/.bashrc"))).toBe(bashrcMeta);
    expect(readFileSync(join(rootimg, "etc/localtime"), "utf8")).toBe("TZif-fake-utc\n");
    expect(readFileSync(join(rootimg, "var/run/daemon.pid"), "utf8")).toBe("42\n");
  });
});
