import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, Sandbox } from "../../helpers/sandbox";

/**
 * xCAT's command names and flags, as `xcimg <name>` and through argv0 symlinks, checked with the
 * expectations of xCAT-test/autotest/testcase/{tabdump,chtab,chdef,mkdef,lsdef,rmdef,packimg,
 * lslite,imgimport,rmimage}/.
 */
let sb: Sandbox;
let bindir: string;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'bun scripts/build.ts --host' first`);
  sb = new Sandbox("fidelity-xcat");
  bindir = join(sb.dir, "bin");
  mkdirSync(bindir);
  for (const n of ["packimage", "tabdump", "chdef", "mkdef", "lsdef", "rmdef", "chtab", "rmimage", "lslite", "nodeset", "genimage", "imgexport", "imgimport"])
    symlinkSync(BIN, join(bindir, n));
});
afterAll(() => sb.cleanup());

/** Run an xCAT command through its symlink, found on PATH as a site script finds it. */
async function xcat(line: string[], stdin?: string) {
  const proc = Bun.spawn(line, {
    env: { ...sb.env, PATH: `${bindir}:${process.env.PATH}` } as Record<string, string>,
    cwd: sb.dir,
    stdout: "pipe",
    stderr: "pipe",
    stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr, output: stdout + stderr };
}

describe("xCAT command names", () => {
  test("multi-call: a symlink's name is the command (packimage -v, tabdump -h, genimage)", async () => {
    let r = await xcat(["packimage", "-v"]);
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/version|Version/);
    for (const h of ["-h", "-?", "--help"]) {
      r = await xcat(["tabdump", h]);
      expect(r.code).toBe(0);
      expect(r.output).toContain("Usage: tabdump");
    }
    r = await xcat(["lslite", "--help"]);
    expect(r.output).toMatch(/usage|Usage/);
    // genimage runs xcimg genimage with xCAT's flags: a dry run of an image with no pkgdir for
    // an unknown OS family is refused by genimage itself (docs/genimage.md), not by the alias
    r = await xcat(["genimage", "-o", "plan9", "--dryrun", "plan9-x86_64-netboot-compute"]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("Error:");
    expect(r.stderr).not.toContain("not part of xcimg");
    // same through `xcimg <name>`
    const direct = await sb.bin(["tabdump", "-v"]);
    expect(direct.stdout).toMatch(/^Version /);
  });

  test("argument errors print Usage (chtab_null, chdef_null, mkdef, rmdef, chtab_err_symble)", async () => {
    for (const line of [["chtab"], ["chdef"], ["mkdef"], ["rmdef"], ["chtab", "-t"], ["packimage"]]) {
      const r = await xcat(line);
      expect(r.code).not.toBe(0);
      expect(r.output).toContain("Usage");
    }
  });

  test("mkdef / chdef -p / lsdef / rmdef as in chdef_p and rmdef cases0", async () => {
    let r = await xcat(["mkdef", "-t", "node", "-o", "testnode,testnode1", "groups=all,aix"]);
    expect(r.code).toBe(0);
    r = await xcat(["mkdef", "-t", "node", "-o", "testnode", "groups=all"]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("A definition for 'testnode' already exists.");
    r = await xcat(["lsdef", "-i", "groups", "testnode1"]);
    expect(r.stdout).toBe("Object name: testnode1\n    groups=all,aix\n");
    await xcat(["chdef", "-t", "node", "-o", "testnode", "groups=all"]);
    r = await xcat(["chdef", "-p", "-t", "node", "-o", "testnode", "groups=aix"]);
    expect(r.code).toBe(0);
    r = await xcat(["lsdef", "-t", "node", "-l", "testnode"]);
    expect(r.stdout).toContain("groups=all,aix");
    r = await xcat(["lsdef"]);
    expect(r.stdout).toMatch(/testnode\s*\(node\)/);
    r = await xcat(["lsdef", "-t", "node", "-l", "testnode", "-z"]);
    expect(r.stdout).toContain("testnode:\n    objtype=node\n    groups=all,aix\n");
    r = await xcat(["lsdef", "-t", "node", "-w", "groups=~aix"]);
    expect(r.stdout).toBe("testnode  (node)\ntestnode1  (node)\n");
    r = await xcat(["rmdef", "-t", "node", "-o", "testnode,testnode1"]);
    expect(r.code).toBe(0);
    r = await xcat(["lsdef"]);
    expect(r.stdout).toBe("");
  });

  test("chdef -t group / lsdef -s (chdef_group), chdef -n (chdef_n), mkdef -z copy (mkdef cases0)", async () => {
    await xcat(["mkdef", "-t", "node", "-o", "testnode1-testnode2", "mgt=hmc", "cons=hmc", "groups=all,systemp"]);
    await xcat(["mkdef", "-t", "node", "-o", "testnode3-testnode4", "mgt=ipmi", "cons=ipmi", "groups=all,systemx"]);
    let r = await xcat(["mkdef", "-t", "group", "-o", "testgrp", "members=testnode1,testnode3"]);
    expect(r.code).toBe(0);
    r = await xcat(["lsdef", "-s", "testgrp"]);
    expect(r.stdout).toBe("testnode1  (node)\ntestnode3  (node)\n");
    r = await xcat(["lsdef", "testnode1"]);
    expect(r.stdout).toContain("all,systemp,testgrp");
    r = await xcat(["rmdef", "-t", "group", "testgrp"]);
    expect(r.code).toBe(0);
    r = await xcat(["lsdef", "testnode1"]);
    expect(r.stdout).not.toContain("testgrp");
    r = await xcat(["mkdef", "-t", "group", "-o", "dyngrp", "-d", "-w", "mgt==hmc"]);
    expect(r.code).toBe(0);
    expect((await xcat(["lsdef", "-s", "dyngrp"])).stdout).toBe("testnode1  (node)\ntestnode2  (node)\n");
    r = await xcat(["chdef", "testnode1", "-n", "testnode9"]);
    expect(r.code).toBe(0);
    expect((await xcat(["lsdef", "testnode9"])).stdout).toContain("mgt=hmc");
    const stanza = (await xcat(["lsdef", "-l", "testnode9", "-z"])).stdout;
    r = await xcat(["mkdef", "-z"], stanza.replaceAll("testnode9", "copynode"));
    expect(r.code).toBe(0);
    expect((await xcat(["lsdef", "-l", "copynode", "-z"])).stdout).toBe(stanza.replaceAll("testnode9", "copynode"));
    r = await xcat(["mkdef", "-z"], stanza.replaceAll("testnode9", "copynode"));
    expect(r.code).toBe(65); // mkdef never merges into an existing definition
  });

  test("chtab (chtab_d, chtab_modify_key, chtab_modify_node, chtab_nonexist_table) and tabdump -w", async () => {
    let r = await xcat(["chtab", "key=rsh_test", "site.value=/opt/xcat/bin/rcp", "site.comments=the rcp command", "site.disable=no"]);
    expect(r.code).toBe(0);
    expect((await xcat(["tabdump", "site"])).stdout).toContain('"rsh_test","/opt/xcat/bin/rcp","the rcp command","no"');
    await xcat(["chtab", "key=rsh_test", "site.value=/opt/xcat/bin/scp"]);
    await xcat(["chtab", "key=rsh_test", "site.value+=/opt/xcat/bin/rcp"]);
    expect((await xcat(["tabdump", "site"])).stdout).toContain("/opt/xcat/bin/scp,/opt/xcat/bin/rcp");
    r = await xcat(["chtab", "-d", "key=rsh_test", "site"]);
    expect(r.code).toBe(0);
    expect((await xcat(["tabdump", "site"])).stdout).not.toContain("rsh_test");
    await xcat(["chdef", "-t", "node", "-o", "testnode", "groups=rhels5.5"]);
    await xcat(["chtab", "node=testnode", "nodelist.groups=all"]);
    expect((await xcat(["tabdump", "-w", "node==testnode", "nodelist"])).stdout).toContain('"testnode","all"');
    r = await xcat(["chtab", "litefile.image=ALL", "litefile.file=/xcatpost", "litefile.options=tmpfs"]);
    expect(r.code).toBe(0);
    expect((await xcat(["tabdump", "litefile"])).stdout).toContain('"ALL","/xcatpost","tmpfs",,');
    r = await xcat(["chtab", "key=abc123", "nonexist_table1.comments=mg"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Table nonexist_table1 does not exist");
  });

  test("rmimage removes the files with xCAT's messages and keeps the definition", async () => {
    await sb.bin(["image", "set", "rh-x86_64-netboot-compute", "provmethod=netboot", "osvers=rh", "osarch=x86_64", "profile=compute"]);
    const dir = join(sb.installdir, "netboot", "rh", "x86_64", "compute");
    mkdirSync(join(dir, "rootimg", "etc"), { recursive: true });
    for (const f of ["kernel", "initrd-stateless.gz", "rootimg.cpio.gz", "rootimg.gz"]) writeFileSync(join(dir, f), "x");
    writeFileSync(join(dir, "keep-me.txt"), "not an image file");
    const r = await xcat(["rmimage", "rh-x86_64-netboot-compute"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Removing directory ${dir}/rootimg`);
    expect(r.stderr).toContain(`Removing file ${dir}/kernel`);
    expect(r.stderr).toContain(`Removing file ${dir}/rootimg.cpio.gz`);
    expect(r.stderr).toContain("Image files have been removed successfully from this management node.");
    expect(existsSync(join(dir, "rootimg"))).toBe(false);
    expect(existsSync(join(dir, "keep-me.txt"))).toBe(true);
    expect((await sb.bin(["image", "list"])).stdout).toBe("rh-x86_64-netboot-compute\n");
  });

  test("imgimport over an existing image refuses and names --force; with it, xCAT's .ORIG copies", async () => {
    const img = "reimp-x86_64-netboot-compute";
    await sb.bin(["image", "set", img, "provmethod=netboot", "osvers=reimp", "osarch=x86_64", "profile=compute"]);
    const dir = join(sb.installdir, "netboot", "reimp", "x86_64", "compute");
    mkdirSync(join(dir, "rootimg", "boot"), { recursive: true });
    writeFileSync(join(dir, "rootimg", "boot", "vmlinuz-6.1.0-10-amd64"), "kernel\n");
    expect((await xcat(["packimage", img])).code).toBe(0);
    const bundle = join(sb.dir, `${img}.tgz`);
    let r = await xcat(["imgexport", img, bundle]);
    expect(r.code, r.output).toBe(0);
    r = await xcat(["imgimport", bundle]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`image '${img}' already exists`);
    expect(r.stderr).toContain("--force");
    r = await xcat(["imgimport", bundle, "--force"]);
    expect(r.code, r.output).toBe(0);
    expect(r.stderr).toContain("(unchanged)"); // identical files are left alone
    // the image changed since the export: --force puts the bundle's back, the current ones become .ORIG
    writeFileSync(join(dir, "rootimg", "boot", "vmlinuz-6.1.0-10-amd64"), "kernel, patched\n");
    expect((await xcat(["packimage", img])).code).toBe(0);
    r = await xcat(["imgimport", bundle, "--force"]);
    expect(r.code, r.output).toBe(0);
    expect(readFileSync(join(dir, "kernel.ORIG"), "utf8")).toBe("kernel, patched\n");
    expect(readFileSync(join(dir, "kernel"), "utf8")).toBe("kernel\n");
  });

  test("packimage and nodeset reach pack and boot with xCAT's flags", async () => {
    let r = await xcat(["packimage", "-m", "cpio", "-c", "gzip", "nosuch-image"]);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("Cannot find image 'nosuch-image'");
    r = await xcat(["packimage", "-m", "zip", "nosuch-image"]);
    expect(r.code).not.toBe(0);
    r = await xcat(["packimage", "-o", "rhels9", "-p", "compute", "-a", "x86_64"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("give the osimage name");
    await xcat(["mkdef", "-t", "node", "-o", "bootnode", "groups=all", "netboot=xnba", "mac=52:54:00:00:00:99"]);
    r = await xcat(["nodeset", "bootnode", "osimage=nosuch-image"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("nosuch-image");
    r = await xcat(["nodeset", "bootnode", "offline"]);
    expect(r.code).toBe(0);
    r = await xcat(["nodeset", "bootnode", "boot"]);
    expect(r.stdout).toBe("bootnode: boot\n");
    r = await xcat(["nodeset", "bootnode", "stat"]);
    expect(r.stdout).toBe("bootnode: boot (local disk, xnba)\n");
    r = await xcat(["nodeset", "bootnode", "shell"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("genesis");
  });

  test("an unknown command suggests the nearest one", async () => {
    let r = await sb.bin(["tabdupm", "site"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("did you mean 'xcimg tabdump'?");
    r = await sb.bin(["imgae", "list"]);
    expect(r.stderr).toContain("did you mean 'xcimg image'?");
    r = await sb.bin(["node", "sho", "x"]);
    expect(r.stderr).toContain("did you mean 'xcimg node show'?");
  });
});
