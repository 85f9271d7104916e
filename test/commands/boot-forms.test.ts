import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage } from "../helpers/images";
import { Sandbox } from "../helpers/sandbox";

/**
 * xCAT's positional forms of `nodeset <noderange> stat|boot|offline|osimage[=<img>]`, through
 * both `xcimg boot <nr> <state>` and the `nodeset` name, on a sandbox site. Local boot is checked
 * against the files xCAT writes (xCAT-server/lib/xcat/plugins/xnba.pm: `#!gpxe`, `#boot`, `exit`
 * in the node's script and its .uefi twin; pxe.pm's `LOCALBOOT 0`), and chain.currstate is read
 * back by `boot --stat` as xCAT's `nodeset stat` reads it (xCAT-test/autotest/testcase/nodeset/cases0).
 */
const IMG = "forms1-x86_64-netboot-compute";
const STATE = "netboot test1-x86_64-compute";
let sb: Sandbox;

async function ok(...argv: string[]) {
  const r = await sb.run(...argv);
  expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
  return r;
}
const tftp = (rel: string) => join(sb.tftpdir, rel);
const read = (rel: string) => readFileSync(tftp(rel), "utf8");
const currstate = async (node: string) => JSON.parse((await ok("--json", "node", "show", node)).stdout)[node].currstate;
const listing = (d: string) => (existsSync(tftp(d)) ? readdirSync(tftp(d)).sort() : []);

beforeAll(async () => {
  sb = new Sandbox("boot-forms");
  const img = await defineNetbootImage(sb, IMG, []);
  mkdirSync(join(img.rootimg, "boot"), { recursive: true });
  writeFileSync(join(img.rootimg, "boot/vmlinuz-6.1.0-10-amd64"), Buffer.alloc(1024, 1));
  await ok("pack", IMG);
  await ok("node", "set", "cn[01-05]", "groups=compute,all", "arch=x86_64", `provmethod=${IMG}`);
  await ok("node", "set", "cn01", "netboot=xnba", "mac=52:54:00:12:34:01", "ip=10.0.2.11");
  await ok("node", "set", "cn02", "netboot=grub2", "mac=52:54:00:12:34:02", "ip=10.0.2.12");
  await ok("node", "set", "cn03", "netboot=pxe", "mac=52:54:00:12:34:03", "ip=10.0.2.13");
  await ok("node", "set", "cn04", "netboot=xnba", "mac=52:54:00:12:34:04");
  await ok("node", "set", "cn05", "netboot=grub2");
  // a MAC that reached the database around node set's checks (table-hostile.test.ts)
  const db = new Database(sb.dbPath);
  db.query(`INSERT INTO mac (node, mac) VALUES ('cn05', '/../../victim')`).run();
  db.close();
});
afterAll(() => sb.cleanup());

describe("xcimg boot <noderange> <state> (xCAT nodeset's forms)", () => {
  test("osimage=<img> is -o, and osimage alone boots each node's nodetype.provmethod", async () => {
    let r = await ok("boot", "cn01,cn02", `osimage=${IMG}`);
    expect(r.stdout).toBe(`cn01: ${STATE}\ncn02: ${STATE}\n`);
    r = await ok("nodeset", "cn03", "osimage");
    expect(r.stdout).toBe(`cn03: ${STATE}\n`);
    expect(read("pxelinux.cfg/cn03").split("\n")[0]).toBe(`#${STATE}`);
    expect(await currstate("cn03")).toBe(STATE);
  });

  test("boot: xCAT's local-boot files for iPXE, GRUB2 and pxelinux, chain.currstate=boot, read back by stat", async () => {
    await ok("boot", "cn[01-03]", "-o", IMG);
    expect(read("xcat/xnba/nodes/cn01")).toContain("kernel");
    const r = await ok("boot", "cn[01-03]", "boot");
    expect(r.stdout).toBe("cn01: boot\ncn02: boot\ncn03: boot\n");
    // byte for byte as xnba.pm writes them (the node's script and _write_uefi_exit_script)
    expect(read("xcat/xnba/nodes/cn01")).toBe("#!gpxe\n#boot\nexit\n");
    expect(read("xcat/xnba/nodes/cn01.uefi")).toBe("#!gpxe\n#boot\nexit\n");
    expect(read("pxelinux.cfg/cn03")).toBe("#boot\nDEFAULT xCAT\nLABEL xCAT\nLOCALBOOT 0\n");
    const grub = read("boot/grub2/cn02");
    expect(grub.split("\n")[0]).toBe("#boot");
    expect(grub).not.toContain("linux");
    expect(grub.trimEnd().endsWith("exit")).toBe(true);
    // grub2.pm's names for the node's MAC and IP, hard links to its file
    expect(statSync(tftp("boot/grub2/grub.cfg-01-52-54-00-12-34-02")).ino).toBe(statSync(tftp("boot/grub2/cn02")).ino);
    expect(statSync(tftp("boot/grub2/grub.cfg-0A00020C")).ino).toBe(statSync(tftp("boot/grub2/cn02")).ino);
    for (const n of ["cn01", "cn02", "cn03"]) expect(await currstate(n)).toBe("boot");
    const stat = await ok("boot", "cn[01-03]", "stat");
    expect(stat.stdout).toBe("cn01: boot (local disk, xnba)\ncn02: boot (local disk, grub2)\ncn03: boot (local disk, pxe)\n");
    expect((await ok("boot", "cn[01-03]", "--stat")).stdout).toBe(stat.stdout);
    expect((await ok("nodeset", "cn[01-03]", "stat")).stdout).toBe(stat.stdout);
  });

  test("nodeset boot, then osimage= again: the image's files replace the local-boot ones", async () => {
    expect((await ok("nodeset", "cn04", "boot")).stdout).toBe("cn04: boot\n");
    expect(read("xcat/xnba/nodes/cn04")).toBe("#!gpxe\n#boot\nexit\n");
    await ok("nodeset", "cn04", `osimage=${IMG}`);
    expect(read("xcat/xnba/nodes/cn04").split("\n")[1]).toBe(`#${STATE}`);
    expect((await ok("boot", "cn04", "stat")).stdout).toBe(`cn04: ${STATE} (image ${IMG}, xnba)\n`);
  });

  test("offline removes the node's boot files; stat reads offline and chain.currstate says so", async () => {
    await ok("boot", "cn01,cn03", "boot");
    const r = await ok("nodeset", "cn01,cn03", "offline");
    expect(r.stdout).toBe("cn01: offline\ncn03: offline\n");
    expect(listing("xcat/xnba/nodes").filter((f) => f.startsWith("cn01"))).toEqual([]);
    expect(listing("pxelinux.cfg").filter((f) => f === "cn03" || f.includes("52-54-00-12-34-03"))).toEqual([]);
    expect(await currstate("cn01")).toBe("offline");
    expect((await ok("boot", "cn01", "stat")).stdout).toBe("cn01: offline (no boot file: the firmware's next boot device)\n");
  });

  test("a node whose MAC cannot name a file gets nothing; the others are switched", async () => {
    const r = await sb.run("boot", "cn04,cn05", "boot");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("cn04: boot\n");
    expect(r.stderr).toContain("cn05: ");
    expect(r.stderr).toContain("/../../victim");
    expect(listing("xcat/xnba/nodes").filter((f) => f.startsWith("cn05"))).toEqual([]);
    expect(await currstate("cn05")).toBeUndefined();
  });

  test("shell is refused with exit 3 and says why; unknown and conflicting actions are usage errors", async () => {
    const before = listing("xcat/xnba/nodes");
    for (const argv of [
      ["boot", "cn01", "shell"],
      ["nodeset", "cn01", "shell"],
      ["nodeset", "cn01", "runcmd=bmcsetup"],
    ]) {
      const r = await sb.run(...argv);
      expect(r.code, argv.join(" ")).toBe(3);
      expect(r.stderr).toContain("genesis");
    }
    // xCAT's forms from before osimage=: the state alone
    const old = await sb.run("nodeset", "cn01", "install");
    expect(old.code).toBe(3);
    expect(old.stderr).toContain("without an osimage");
    for (const argv of [
      ["boot", "cn01", "reboot"],
      ["boot", "cn01", "boot", "-o", IMG],
      ["boot", "cn01", "stat", "--offline"],
      ["boot", "cn01", "osimage="],
      ["nodeset", "cn01"],
    ]) {
      const r = await sb.run(...argv);
      expect(r.code, argv.join(" ")).toBe(64);
      expect(r.stderr.length).toBeGreaterThan(0);
    }
    expect(listing("xcat/xnba/nodes")).toEqual(before);
  });
});
