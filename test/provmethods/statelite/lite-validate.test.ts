import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { lockImageDir } from "../../../src/core/fs/lock";
import { Sandbox } from "../../helpers/sandbox";
import { listTree, makeImageRoot } from "../../helpers/statelite-fixture";

/**
 * Every liteimg validation error, with xCAT's exact words, exit code 65 (bad data), and the
 * image left exactly as it was: lite validates the whole list before it changes anything.
 */
const IMG = "rhels9-x86_64-statelite-compute";
const sb = new Sandbox("lite-validate");
const dir = join(sb.installdir, "netboot", "rhels9", "x86_64", "compute");
const rootimg = join(dir, "rootimg");
let pristine = "";

async function liteWith(rows: [string, string][]): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(sb.dir, "litefile.csv");
  writeFileSync(file, `#image,file,options,comments,disable\n${rows.map(([f, o]) => `"ALL","${f}",${o ? `"${o}"` : ""},,`).join("\n")}\n`);
  expect((await sb.run("table", "restore", "litefile", file)).code).toBe(0);
  return sb.run("lite", IMG);
}

/** The error line xCAT's client would print, plus proof that nothing changed. */
async function expectRejected(rows: [string, string][], message: string): Promise<void> {
  const r = await liteWith(rows);
  expect(r.code).toBe(65);
  expect(r.stderr.split("\n")[1]).toBe(`Error: ${message}`);
  expect(r.stderr.split("\n")[0]).toBe(`Modifying ${rootimg} ...`);
  expect(listTree(rootimg)).toBe(pristine);
}

beforeAll(async () => {
  expect((await sb.run("image", "set", IMG, "provmethod=statelite", "osvers=rhels9", "osarch=x86_64", "profile=compute")).code).toBe(0);
  makeImageRoot(rootimg);
  pristine = listTree(rootimg);
});
afterAll(() => sb.cleanup());

const VALID = "tmpfs persistent localdisk rw ro con link tmpfs,rw link,ro link,persistent link,con";

describe("liteimg's per-entry checks", () => {
  test("invalid option lists the valid ones", async () => {
    await expectRejected([["/etc/hosts", "tmpfs,persistent"]], ` /etc/hosts has invalid option. The valid options: ${VALID}`);
  });
  test("the tmpfs,rw -> link rewrite happens first, as in xCAT (tmpfs,rwx becomes linkx)", async () => {
    await expectRejected([["/etc/hosts", "tmpfs,rwx"]], ` /etc/hosts has invalid option. The valid options: ${VALID}`);
  });
  test("a relative path", async () => {
    await expectRejected([["etc/hosts", "tmpfs"]], " etc/hosts is not one absolute path. ");
  });
  test("con and link,con on a directory", async () => {
    await expectRejected([["/etc/ssh/", "con"]], ` /etc/ssh/ is directory, don't use "con" as its option `);
    await expectRejected([["/etc/ssh/", "link,con"]], ` /etc/ssh/ is directory, don't use "con" as its option `);
  });
  test("entries are checked in file order: the first bad one is reported", async () => {
    await expectRejected(
      [
        ["/zzz", "bogus"],
        ["/etc/ssh/", "con"],
      ],
      ` /etc/ssh/ is directory, don't use "con" as its option `,
    );
  });
  test("xcimg's own safety checks: /, '..', white space, statelite's directories", async () => {
    await expectRejected([["/", "tmpfs"]], `"/" itself cannot be a statelite entry`);
    await expectRejected([["/etc/../../host", "tmpfs"]], `/etc/../../host must not contain empty, "." or ".." path components`);
    await expectRejected([["/etc/a b", "tmpfs"]], `"/etc/a b" contains white space; statelite paths cannot (xCAT splits its lists on it)`);
    await expectRejected([["/.default/etc/", "tmpfs"]], "/.default/etc/ is inside /.default, which statelite itself manages");
  });
});

describe("liteimg's parent/child rules", () => {
  test("a parent directory cannot be ro or con", async () => {
    await expectRejected(
      [
        ["/opt/", "ro"],
        ["/opt/data/", "ro"],
      ],
      `the directory "/opt/" should not be with "ro" or "con" as its option`,
    );
  });
  test("under a link parent: no link,ro", async () => {
    await expectRejected(
      [
        ["/root/", "link"],
        ["/root/.bashrc", "link,ro"],
      ],
      `Based on the option of /root/, /root/.bashrc should not use "link,ro" as its option`,
    );
  });
  test("under a link parent: only link-based options", async () => {
    await expectRejected(
      [
        ["/root/", "link"],
        ["/root/.bashrc", "tmpfs"],
      ],
      `Based on the option of /root/, /root/.bashrc can only use "link"-based options`,
    );
  });
  test("under a persistent parent: persistent children (trailing space included)", async () => {
    await expectRejected(
      [
        ["/var/log/", "persistent"],
        ["/var/log/messages", "tmpfs"],
      ],
      "/var/log/messages should have persistent option like /var/log/ ",
    );
    await expectRejected(
      [
        ["/var/lib/app/", "link,persistent"],
        ["/var/lib/app/state", "link"],
      ],
      "/var/lib/app/state should have persistent option like /var/lib/app/ ",
    );
  });
  test("a persistent /etc/ trips over the /etc/mtab link xCAT adds itself", async () => {
    await expectRejected([["/etc/", "persistent"]], "/etc/mtab should have persistent option like /etc/ ");
  });
  test("xCAT's dead check: a link child under a non-link parent is accepted", async () => {
    const r = await liteWith([
      ["/etc/sysconfig/", "tmpfs"],
      ["/etc/sysconfig/network", "link"],
    ]);
    expect(r.code).toBe(0);
    // a child: no chain of its own, its content travels with the parent's copy
    expect(listTree(rootimg)).toContain('f 0644 /etc/sysconfig/network "NETWORKING=yes\\n"');
    expect(listTree(rootimg)).toContain('f 0644 /.default/etc/sysconfig/network "NETWORKING=yes\\n"');
  });
});

describe("which images lite works on", () => {
  test("provmethod must be statelite (xCAT's message)", async () => {
    expect((await sb.run("image", "set", "nb", "provmethod=netboot", "osvers=rhels9", "osarch=x86_64", "profile=nb")).code).toBe(0);
    const r = await sb.run("lite", "nb");
    expect(r.code).toBe(65);
    expect(r.stderr).toStartWith("Error: Please make sure that osimage.provmethod is set to statelite before calling this command.\n");
  });
  test("an unknown image", async () => {
    const r = await sb.run("lite", "nosuch");
    expect(r.code).toBe(66);
    expect(r.stderr).toStartWith("Error: Cannot find image 'nosuch' from the osimage table.\n");
  });
  test("osvers/osarch/profile are required", async () => {
    expect((await sb.run("image", "set", "bare", "provmethod=statelite", "rootimgdir=/tmp/nowhere")).code).toBe(0);
    const r = await sb.run("lite", "bare");
    expect(r.code).toBe(65);
    expect(r.stderr).toStartWith(
      "Error: osimage.osvers, osimage.osarch, and osimage.profile and must be specified for the image bare in the database, or you must specify -o os -p profile -a arch.\n",
    );
  });
  test("no root tree yet", async () => {
    expect((await sb.run("image", "set", "empty", "provmethod=statelite", "osvers=rhels9", "osarch=x86_64", "profile=empty")).code).toBe(0);
    const r = await sb.run("lite", "empty");
    expect(r.code).toBe(66);
    expect(r.stderr).toContain(`no rootimage dir: ${join(sb.installdir, "netboot/rhels9/x86_64/empty/rootimg")} does not exist`);
  });
  test("another command working on the same image directory: busy (75), nothing changed", async () => {
    const lock = lockImageDir(sb.installdir, dir, "xcimg pack test");
    try {
      const before = listTree(rootimg);
      const r = await sb.run("lite", IMG);
      expect(r.code).toBe(75);
      expect(r.stderr).toContain("is locked by 'xcimg pack test'");
      expect(listTree(rootimg)).toBe(before);
    } finally {
      lock.release();
    }
  });
});
