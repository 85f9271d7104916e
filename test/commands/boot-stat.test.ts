import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Grub2Links } from "../../src/core/boot/loader-files";
import { writeLocalBoot } from "../../src/core/boot/local-boot";
import { bootPaths } from "../../src/core/boot/paths";
import { defineNetbootImage } from "../helpers/images";
import { Sandbox } from "../helpers/sandbox";

/**
 * `xcimg boot --stat` (xCAT's `nodeset <noderange> stat`) through the CLI on a sandbox site:
 * what each node boots next, read from the boot files `xcimg boot` wrote for each of the
 * three loaders — an image, local boot (the file sysclone's status writes when a clone is
 * done), or nothing (`offline`, never booted or `boot --offline`) — with the image from the
 * node's rows, a row that disagrees with the file reported, and an undefined node refused.
 */
const IMG = "stat1-x86_64-netboot-compute";
const STATE = "netboot test1-x86_64-compute";
let sb: Sandbox;

async function ok(...argv: string[]) {
  const r = await sb.run(...argv);
  expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
  return r;
}

beforeAll(async () => {
  sb = new Sandbox("boot-stat");
  const img = await defineNetbootImage(sb, IMG, []);
  mkdirSync(join(img.rootimg, "boot"), { recursive: true });
  writeFileSync(join(img.rootimg, "boot/vmlinuz-6.1.0-10-amd64"), Buffer.alloc(1024, 1));
  await ok("pack", IMG);
  await ok("node", "set", "cn[01-06]", "groups=compute,all", "arch=x86_64");
  await ok("node", "set", "cn01", "netboot=xnba", "mac=52:54:00:12:34:01", "ip=10.0.2.11");
  await ok("node", "set", "cn02", "netboot=grub2", "mac=52:54:00:12:34:02", "ip=10.0.2.12");
  await ok("node", "set", "cn03", "netboot=pxe", "mac=52:54:00:12:34:03", "ip=10.0.2.13");
  await ok("node", "set", "cn04", "netboot=xnba", "mac=52:54:00:12:34:04");
  await ok("node", "set", "cn05", "netboot=grub2", "mac=52:54:00:12:34:05", "ip=10.0.2.15");
  await ok("node", "set", "cn06", "netboot=xnba", "mac=52:54:00:12:34:06");
  await ok("boot", "cn01,cn02,cn03,cn05,cn06", "-o", IMG);
  await ok("boot", "cn06", "--offline");
  // local boot as sysclone's status writes it once a clone is done (xCAT's `nodeset boot`)
  const paths = bootPaths(sb.tftpdir);
  writeLocalBoot(paths, new Grub2Links(paths.grub2Dir), { node: "cn05", loader: "grub2", mac: "52:54:00:12:34:05", ip: "10.0.2.15" });
});
afterAll(() => sb.cleanup());

describe("xcimg boot --stat", () => {
  test("per node: the image and loader it boots next, local boot, or offline (no boot file)", async () => {
    const r = await ok("boot", "cn[01-06]", "--stat");
    expect(r.stdout).toBe(
      [
        `cn01: ${STATE} (image ${IMG}, xnba)`,
        `cn02: ${STATE} (image ${IMG}, grub2)`,
        `cn03: ${STATE} (image ${IMG}, pxe)`,
        "cn04: offline (no boot file: the firmware's next boot device)",
        // its row still names the image: writeLocalBoot changes only the file (sysclone writes chain.currstate=boot itself)
        `cn05: boot (local disk, grub2; chain.currstate says ${STATE})`,
        "cn06: offline (no boot file: the firmware's next boot device)",
        "",
      ].join("\n"),
    );
    expect(r.stderr).toBe("");
  });

  test("--json: state, next, method, image, loader and the file each answer came from", async () => {
    const r = await ok("--json", "boot", "cn01,cn04,cn05", "--stat");
    const j = JSON.parse(r.stdout) as { nodes: Record<string, unknown>[]; failed: Record<string, string> };
    expect(j.failed).toEqual({});
    expect(j.nodes).toEqual([
      { node: "cn01", state: STATE, next: "image", method: "netboot", image: IMG, loader: "xnba", file: join(sb.tftpdir, "xcat/xnba/nodes/cn01") },
      { node: "cn04", state: "offline", next: "none", method: null, image: null, loader: "xnba", file: null },
      { node: "cn05", state: "boot", next: "local", method: null, image: null, loader: "grub2", file: join(sb.tftpdir, "boot/grub2/cn05"), rowState: STATE },
    ]);
  });

  test("a node that is not defined: the noderange is refused with its name, exit 66, as for every command", async () => {
    const r = await sb.run("boot", "cn01,nosuch07", "--stat");
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("Invalid nodes and/or groups in noderange: nosuch07");
    expect(r.stdout).toBe("");
  });

  test("a row that no longer matches the file: the file wins (it is what the node fetches), the row is named", async () => {
    await ok("table", "set", "chain", "node=cn03", "currstate=install rocky9-x86_64-compute");
    const r = await ok("boot", "cn03", "--stat");
    expect(r.stdout).toBe(`cn03: ${STATE} (image unknown, pxe; chain.currstate says install rocky9-x86_64-compute)\n`);
    await ok("table", "set", "chain", "node=cn03", `currstate=${STATE}`);
  });

  test("--stat only reads: with -o or --offline it is a usage error; no file or row changes", async () => {
    for (const extra of [["-o", IMG], ["--offline"]]) {
      const r = await sb.run("boot", "cn01", "--stat", ...extra);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain("--stat only reads");
    }
    const f = join(sb.tftpdir, "xcat/xnba/nodes/cn01");
    const before = statSync(f).mtimeMs;
    const db = statSync(sb.dbPath).mtimeMs;
    await ok("boot", "all", "--stat");
    expect(statSync(f).mtimeMs).toBe(before);
    expect(statSync(sb.dbPath).mtimeMs).toBe(db);
  });
});
