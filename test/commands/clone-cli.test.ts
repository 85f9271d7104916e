import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Sandbox } from "../helpers/sandbox";

/**
 * `xcimg clone` refuses what it cannot do before touching anything: each bad request gets its
 * own message and exit code, and neither the node rows nor installdir/tftpdir change.
 */
let sb: Sandbox;
beforeAll(async () => {
  sb = new Sandbox("clone-cli");
  expect((await sb.run("node", "set", "cn01", "groups=all", "mac=52:54:00:00:00:01")).code).toBe(0);
  expect((await sb.run("image", "set", "nb", "provmethod=netboot", "osvers=debian12", "osarch=x86_64", "profile=compute")).code).toBe(0);
  const tree = join(sb.installdir, "sysclone/images/sc");
  expect((await sb.run("image", "set", "sc", "provmethod=sysclone", "osvers=debian12", "osarch=x86_64", `rootimgdir=${tree}`)).code).toBe(0);
  mkdirSync(join(tree, "boot"), { recursive: true });
  writeFileSync(join(tree, "boot/vmlinuz-6.1.0-9-amd64"), "kernel");
});
afterAll(() => sb.cleanup());

describe("xcimg clone: bad requests", () => {
  test("each is refused with its message and exit code; nothing is written", async () => {
    const before = (await sb.run("node", "show", "cn01")).stdout;
    const cases: [string[], number, RegExp][] = [
      [["cn01"], 64, /clone needs -o <osimage>/],
      [["cn01", "-o", "nope"], 66, /Cannot find image 'nope'/],
      [["cn01", "-o", "nb"], 64, /provmethod 'netboot', which does not support 'clone'/],
      [["cn01", "-o", "sc"], 66, /image 'sc' has no recorded disk layout/],
      [["cn01", "-o", "sc", "--dry-run"], 66, /no recorded disk layout/],
      [["cn99", "-o", "sc"], 66, /Invalid nodes and\/or groups in noderange: cn99/],
      [["cn01", "--status", "-o", "sc"], 64, /--status and --wait take only a noderange/],
      [["cn01", "--wait", "--timeout", "soon"], 64, /--timeout takes a number of seconds, not 'soon'/],
      [["cn01", "-o", "sc", "--disk-size", "5G"], 64, /--disk-size only shapes the plan --dry-run prints/],
      [["cn01", "-o", "sc", "--dry-run", "--disk-size", "lots"], 64, /invalid size 'lots'/],
      [["cn01", "-o", "sc", "--disk", "sda"], 64, /--disk must name a device such as \/dev\/sda/],
      [["cn01", "-o", "sc", "--update", "--disk", "/dev/sdb"], 64, /--update leaves the node's disk layout/],
      [["cn01", "-o", "sc", "--reboot-after", "ten"], 64, /--reboot-after takes a number of seconds/],
      [["cn01", "-o", "sc", "--no-delete"], 64, /--no-delete and --exclude-from shape an update: use them with --update/],
      [["cn01", "-o", "sc", "--exclude-from", "/etc/keep.list"], 64, /--no-delete and --exclude-from shape an update/],
    ];
    for (const [argv, code, msg] of cases) {
      const r = await sb.run("clone", ...argv);
      expect(r.code, argv.join(" ")).toBe(code);
      expect(r.stderr, argv.join(" ")).toMatch(msg);
    }
    expect((await sb.run("node", "show", "cn01")).stdout).toBe(before);
    expect(readdirSync(sb.tftpdir)).toEqual([]);
    expect(readdirSync(join(sb.installdir, "sysclone"))).toEqual(["images"]);
  });
});
