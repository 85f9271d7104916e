import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Sandbox } from "../../helpers/sandbox";

let sb: Sandbox;
afterEach(() => sb?.cleanup());

function makeNetbootImage(s: Sandbox, name: string, profile = "compute") {
  const dir = join(s.installdir, "netboot", "debian12", "x86_64", profile);
  mkdirSync(join(dir, "rootimg", "etc"), { recursive: true });
  writeFileSync(join(dir, "rootimg", "etc", "hostname"), "golden\n");
  for (const f of ["kernel", "initrd-stateless.gz", "rootimg.cpio.gz", "keep-me.txt"]) writeFileSync(join(dir, f), f);
  const boot = join(s.tftpdir, "xcat", "osimage", name);
  mkdirSync(boot, { recursive: true });
  writeFileSync(join(boot, "kernel"), "k");
  return { dir, boot };
}

describe("image rm", () => {
  test("--files removes the root tree, packed images and boot files, and nothing else", async () => {
    sb = new Sandbox("rm");
    const { dir, boot } = makeNetbootImage(sb, "img");
    expect((await sb.run("image", "set", "img", "provmethod=netboot", "osvers=debian12", "osarch=x86_64", "profile=compute")).code).toBe(0);
    const r = await sb.run("image", "rm", "img", "--files");
    expect(r.code).toBe(0);
    expect(readdirSync(dir)).toEqual(["keep-me.txt"]);
    expect(existsSync(boot)).toBe(false);
    expect(r.stderr).toContain(`Removed ${join(dir, "rootimg")}`);
    expect((await sb.run("image", "show", "img")).code).toBe(66);
  });

  test("--files on a sysclone image also removes clone's environment and disk archive, not another image's", async () => {
    sb = new Sandbox("rm-sysclone");
    const tree = join(sb.installdir, "sysclone", "images", "gold");
    mkdirSync(join(tree, "etc"), { recursive: true });
    const clone = join(sb.installdir, "sysclone", "clone");
    for (const d of ["gold", "other"]) {
      mkdirSync(join(clone, d), { recursive: true });
      writeFileSync(join(clone, d, "rootimg.tar.gz"), "archive");
    }
    expect((await sb.run("image", "set", "gold", "provmethod=sysclone", "osvers=debian12", "osarch=x86_64", `rootimgdir=${tree}`)).code).toBe(0);
    const r = await sb.run("image", "rm", "gold", "--files");
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(tree)).toBe(false);
    expect(readdirSync(clone)).toEqual(["other"]);
  });

  test("without --files only the definition goes", async () => {
    sb = new Sandbox("rm2");
    const { dir } = makeNetbootImage(sb, "img");
    await sb.run("image", "set", "img", "provmethod=netboot", "osvers=debian12", "osarch=x86_64", "profile=compute");
    expect((await sb.run("image", "rm", "img")).code).toBe(0);
    expect(existsSync(join(dir, "rootimg", "etc", "hostname"))).toBe(true);
  });

  test("files shared with another image, or outside installdir, are refused and the image stays", async () => {
    sb = new Sandbox("rm3");
    const { dir } = makeNetbootImage(sb, "img");
    await sb.run("image", "set", "img", "provmethod=netboot", "osvers=debian12", "osarch=x86_64", "profile=compute");
    // a second definition of the same os/arch/profile shares the directory, as xCAT's netboot and statelite images of a profile do
    await sb.run("image", "set", "img2", "provmethod=netboot", "osvers=debian12", "osarch=x86_64", "profile=compute");
    let r = await sb.run("image", "rm", "img2", "--files");
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("image img uses the same directory");
    expect(existsSync(join(dir, "rootimg"))).toBe(true);
    expect((await sb.run("image", "show", "img2")).code).toBe(0);

    await sb.run("image", "set", "img2", "rootimgdir=/etc");
    r = await sb.run("image", "rm", "img2", "--files");
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("outside installdir");
    expect(existsSync("/etc/hostname")).toBe(true);
    expect((await sb.run("image", "show", "img2")).code).toBe(0);
  });
});
