import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { confinedTarArgv, findRedirect, JAIL_TREE } from "../../../src/core/capture/confine";
import { localTarArgs } from "../../../src/core/capture/stream";
import { craftArchive } from "../../helpers/hostile-node";

/**
 * The jail itself (src/core/capture/confine.ts), with the real GNU tar: what a member reaches
 * through a symlink to a directory this machine really has (/usr, /etc) fails with the errors
 * the jail is built to give, and nothing appears there. (The end-to-end attacks, through a real
 * sshd and the CLI, are in test/core/capture/capture-hostile.test.ts.)
 */
const dir = mkdtempSync(join(tmpdir(), "xcimg-confine-"));
const PROBE = "xcimg-confine-probe";
afterAll(() => {
  for (const p of [`/usr/share/doc/${PROBE}`, `/etc/${PROBE}`]) rmSync(p, { force: true }); // only if the jail failed
  rmSync(dir, { recursive: true, force: true });
});

function extract(tree: string, archive: string): { status: number | null; stderr: string } {
  const jail = join(dir, `jail-${Math.random().toString(36).slice(2)}`);
  mkdirSync(jail);
  const [cmd, ...argv] = confinedTarArgv(jail, tree, localTarArgs(JAIL_TREE));
  const r = Bun.spawnSync([cmd as string, ...argv], { stdin: readFileSync(archive), stderr: "pipe", env: { ...process.env, LC_ALL: "C" } });
  rmdirSync(jail); // empty: the jail was mounted on it only inside the namespace
  return { status: r.exitCode, stderr: r.stderr.toString() };
}

describe("the extracting tar's jail", () => {
  test("an ordinary archive extracts into the tree, as without the jail", () => {
    const tree = join(dir, "plain");
    mkdirSync(tree);
    const archive = join(dir, "plain.tar");
    craftArchive(archive, [
      { name: "./etc", type: "dir" },
      { name: "./etc/hostname", type: "file", data: "golden\n" },
      { name: "./lib", type: "symlink", target: "usr/lib" },
      { name: "./etc/hostname.bak", type: "hardlink", target: "etc/hostname" },
    ]);
    const r = extract(tree, archive);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readFileSync(join(tree, "etc/hostname.bak"), "utf8")).toBe("golden\n");
  });

  test("through a symlink to /usr: writes hit a read-only mount, hard links cross a mount", () => {
    const tree = join(dir, "usr");
    mkdirSync(tree);
    symlinkSync("/usr/share/doc", join(tree, "y"));
    const archive = join(dir, "usr.tar");
    craftArchive(archive, [
      { name: `./y/${PROBE}`, type: "file", data: "x\n" },
      { name: "./leak", type: "hardlink", target: "y/tar/copyright" },
    ]);
    const r = extract(tree, archive);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`./y/${PROBE}: Cannot open: Read-only file system`);
    expect(r.stderr).toContain("./leak: Cannot hard link to 'y/tar/copyright': Invalid cross-device link");
    expect(existsSync(`/usr/share/doc/${PROBE}`)).toBe(false);
    expect(existsSync(join(tree, "leak"))).toBe(false);
    expect(
      findRedirect(
        tree,
        r.stderr.split("\n").map((l) => l.replace(/^\S*\/tar: /, "tar: ")),
      ),
    ).toEqual({ member: `y/${PROBE}`, link: "y", to: "/usr/share/doc" });
  });

  test("through a symlink to /etc: the jail has no /etc", () => {
    const tree = join(dir, "etc");
    mkdirSync(tree);
    symlinkSync("/etc", join(tree, "w"));
    const archive = join(dir, "etc.tar");
    craftArchive(archive, [{ name: `./w/${PROBE}`, type: "file", data: "x\n" }]);
    const r = extract(tree, archive);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`./w/${PROBE}: Cannot open: No such file or directory`);
    expect(existsSync(`/etc/${PROBE}`)).toBe(false);
  });
});
