import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lockImageDir } from "../../src/core/fs/lock";
import { ARCH, imageTables, makeInstall, makeNetboot, makeStatelite, makeSysclone, OSVERS, sh, treeListing } from "../helpers/bundle-sites";
import { Sandbox } from "../helpers/sandbox";

/**
 * export on one site, import on a second, empty one: the tables and the file trees must come
 * out the same (paths moved from the first site's installdir to the second's).
 */
let a: Sandbox;
beforeAll(() => {
  a = new Sandbox("bundle-a");
});
afterAll(() => a.cleanup());

async function roundTrip(name: string, prepareB?: (b: Sandbox) => Promise<void>): Promise<{ b: Sandbox; bundle: string; out: string }> {
  const bundle = join(a.dir, "out", `${name}.tgz`);
  mkdirSync(join(a.dir, "out"), { recursive: true });
  const e = await a.run("export", name, bundle);
  expect(e.stderr).not.toContain("Error");
  expect(e.code).toBe(0);
  expect(e.stdout).toContain("Done!");
  const b = new Sandbox("bundle-b");
  await prepareB?.(b);
  const i = await b.run("import", bundle);
  expect(i.stderr).not.toContain("Error");
  expect(i.code).toBe(0);
  expect(i.stdout).toBe(`Successfully imported the image ${name}.\n`);
  return { b, bundle, out: i.stderr };
}

describe("export → import round trip, per provmethod", () => {
  test("netboot: tables, kernel, initrd, packed image and lists", async () => {
    const img = await makeNetboot(a);
    const { b } = await roundTrip(img.name);
    try {
      expect(await imageTables(b, img.name)).toBe(await imageTables(a, img.name, a.installdir, b.installdir));
      const bdir = join(b.installdir, "netboot", OSVERS, ARCH, "compute");
      for (const f of ["kernel", "initrd-stateless.gz", "rootimg.cpio.gz"]) expect(readFileSync(join(bdir, f))).toEqual(readFileSync(join(img.dir, f)));
      // parent directories are made at import time: compare everything but their mtimes
      const custom = (s: Sandbox) => treeListing(join(s.installdir, "custom"), { xattrs: false, skipDirMtime: true });
      expect(custom(b)).toBe(custom(a));
      expect(existsSync(join(bdir, "rootimg"))).toBe(false); // xCAT carries the packed image only
    } finally {
      b.cleanup();
    }
  });

  test("statelite: the root tree comes back with owners and modes; litefile rows in xCAT's order", async () => {
    const img = await makeStatelite(a, "lite");
    const { b, bundle, out } = await roundTrip(img.name, async (b) => {
      expect((await b.run("table", "set", "litefile", "image=ALL,file=/etc/adjtime", "options=tmpfs")).code).toBe(0);
    });
    try {
      expect(out).toContain("Extracting rootimgtree.gz. It will take a while.");
      const bdir = join(b.installdir, "netboot", OSVERS, ARCH, "lite");
      expect(treeListing(join(bdir, "rootimg"), { xattrs: false, skipDirMtime: true })).toBe(
        treeListing(join(img.dir, "rootimg"), { xattrs: false, skipDirMtime: true }),
      );
      expect(existsSync(join(bdir, "rootimgtree.gz"))).toBe(false);
      const csv = sh(["tar", "xzOf", bundle, `./${img.name}/litefile.csv`]);
      expect(csv).toBe(
        [
          `"${img.name}","/etc/adjtime","tmpfs",,`,
          `"${img.name}","/var/log/","tmpfs",,`,
          `"${img.name}","/etc/ssh/","persistent",,`,
          `"${img.name}","/var/log/","tmpfs,rw",,`,
          "",
        ].join("\n"),
      );
      expect(readFileSync(join(bdir, "litefile.csv"), "utf8")).toBe(csv);
      // rows identical to an ALL row are skipped; the image's own rows are added in file order
      const lite = (await b.run("table", "dump", "litefile")).stdout;
      expect(lite).toBe(
        [
          "#image,file,options,comments,disable",
          '"ALL","/etc/adjtime","tmpfs",,',
          `"${img.name}","/var/log/","tmpfs,rw",,`,
          `"${img.name}","/etc/ssh/","persistent",,`,
          "",
        ].join("\n"),
      );
      const tables = (s: string) => s.split("\n").filter((l) => !l.includes(`"${img.name}","/`));
      expect(tables(await imageTables(b, img.name))).toEqual(tables(await imageTables(a, img.name, a.installdir, b.installdir)));
    } finally {
      b.cleanup();
    }
  });

  test("sysclone: the image tree keeps xattrs, capabilities, ACLs, hard links, devices and FIFOs", async () => {
    const img = await makeSysclone(a);
    const { b } = await roundTrip(img.name);
    try {
      expect(await imageTables(b, img.name)).toBe(await imageTables(a, img.name, a.installdir, b.installdir));
      const bdir = join(b.installdir, "sysclone", "images", img.name);
      const want = treeListing(img.dir, { xattrs: true });
      expect(want).toContain("security.capability");
      expect(want).toContain("system.posix_acl_access");
      expect(treeListing(bdir, { xattrs: true })).toBe(want);
    } finally {
      b.cleanup();
    }
  });

  test("install: template and lists, media=required checked against the target site", async () => {
    const img = await makeInstall(a);
    const bundle = join(a.dir, "out", `${img.name}.tgz`);
    mkdirSync(join(a.dir, "out"), { recursive: true });
    expect((await a.run("export", img.name, bundle)).code).toBe(0);
    const manifest = sh(["tar", "xzOf", bundle, `./${img.name}/manifest.xml`]);
    expect(manifest).toContain("<media>required</media>");
    expect(manifest).toContain(`<template>${a.installdir}/custom/install/rh/compute.tmpl</template>`); // found by look_for_file
    const b = new Sandbox("bundle-b");
    try {
      const before = await imageTables(b, img.name);
      const refused = await b.run("import", bundle);
      expect(refused.code).toBe(65);
      expect(refused.stderr).toContain(`Error: This image requires that you first copy media for ${OSVERS}-${ARCH}`);
      expect(await imageTables(b, img.name)).toBe(before);
      mkdirSync(join(b.installdir, OSVERS, ARCH), { recursive: true });
      const ok = await b.run("import", bundle);
      expect(ok.code).toBe(0);
      const tables = await imageTables(a, img.name, a.installdir, b.installdir);
      // export wrote the template it found into the manifest, as xCAT does
      expect(await imageTables(b, img.name)).toBe(tables.replace(`"${img.name}",,,,`, `"${img.name}","${b.installdir}/custom/install/rh/compute.tmpl",,,`));
      for (const f of ["compute.tmpl", "compute.rhels8.x86_64.pkglist"]) {
        expect(readFileSync(join(b.installdir, "custom/install/rh", f))).toEqual(readFileSync(join(a.installdir, "custom/install/rh", f)));
      }
    } finally {
      b.cleanup();
    }
  });
});

describe("import -f <new profile> (xcat.md §1.6)", () => {
  test("new image name, rootimgdir and lists renamed after the profile", async () => {
    const name = `${OSVERS}-${ARCH}-netboot-compute`;
    const bundle = join(a.dir, "out", `${name}.tgz`);
    if (!existsSync(bundle)) await makeNetboot(a);
    expect((await a.run("export", name, bundle, "--config", a.config)).code).toBe(0);
    const b = new Sandbox("bundle-f");
    try {
      const r = await b.run("import", bundle, "-f", "compute_test");
      expect(r.code).toBe(0);
      const newName = `${OSVERS}-${ARCH}-netboot-compute_test`;
      expect(r.stdout).toBe(`Successfully imported the image ${newName}.\n`);
      const show = (await b.run("image", "show", newName)).stdout;
      const dir = join(b.installdir, "netboot", OSVERS, ARCH, "compute_test");
      expect(show).toContain(`    profile=compute_test`);
      expect(show).toContain(`    rootimgdir=${dir}`);
      expect(show).toContain(`    pkglist=${b.installdir}/custom/netboot/rh/compute_test.rhels8.x86_64.pkglist`);
      expect(show).toContain(`    exlist=${b.installdir}/custom/netboot/rh/compute_test.exlist`);
      expect(show).toContain(`    synclists=${b.installdir}/custom/netboot/rh/compute_test.synclist`);
      for (const f of ["kernel", "initrd-stateless.gz", "rootimg.cpio.gz"]) expect(existsSync(join(dir, f))).toBe(true);
      // xCAT's test: ls /install/custom/netboot/rh/compute_test.*
      expect(
        sh(["sh", "-c", "ls compute_test.*"], join(b.installdir, "custom", "netboot", "rh"))
          .trim()
          .split("\n"),
      ).toEqual(["compute_test.exlist", "compute_test.postinstall", "compute_test.rhels8.x86_64.pkglist", "compute_test.synclist"]);
      expect(existsSync(join(b.installdir, "netboot", OSVERS, ARCH, "compute"))).toBe(false);
    } finally {
      b.cleanup();
    }
  });

  test("--force replaces an image and keeps .ORIG backups; without it nothing changes", async () => {
    const name = `${OSVERS}-${ARCH}-netboot-compute`;
    const bundle = join(a.dir, "out", `${name}.tgz`);
    if (!existsSync(bundle)) {
      await makeNetboot(a);
      expect((await a.run("export", name, bundle)).code).toBe(0);
    }
    const b = new Sandbox("bundle-force");
    try {
      expect((await b.run("import", bundle)).code).toBe(0);
      const kernel = join(b.installdir, "netboot", OSVERS, ARCH, "compute", "kernel");
      writeFileSync(kernel, "locally changed");
      const before = await imageTables(b, name);
      const again = await b.run("import", bundle);
      expect(again.code).toBe(64);
      expect(again.stderr).toContain(`image '${name}' already exists`);
      expect(readFileSync(kernel, "utf8")).toBe("locally changed");
      expect(await imageTables(b, name)).toBe(before);
      const forced = await b.run("import", bundle, "--force");
      expect(forced.code).toBe(0);
      expect(forced.stderr).toContain(`  Moving old ${kernel} to ${kernel}.ORIG.`);
      expect(readFileSync(`${kernel}.ORIG`, "utf8")).toBe("locally changed");
      expect(readFileSync(kernel)).toEqual(readFileSync(join(a.installdir, "netboot", OSVERS, ARCH, "compute", "kernel")));
      expect(await imageTables(b, name)).toBe(before);
    } finally {
      b.cleanup();
    }
  });

  test("an image directory locked by pack/lite/capture is not touched (exit 75)", async () => {
    const name = `${OSVERS}-${ARCH}-netboot-compute`;
    const bundle = join(a.dir, "out", `${name}.tgz`);
    if (!existsSync(bundle)) {
      await makeNetboot(a);
      expect((await a.run("export", name, bundle)).code).toBe(0);
    }
    const b = new Sandbox("bundle-lock");
    const dir = join(b.installdir, "netboot", OSVERS, ARCH, "compute");
    const lock = lockImageDir(b.installdir, dir, "xcimg lite (test)");
    try {
      const r = await b.run("import", bundle);
      expect(r.code).toBe(75);
      expect(r.stderr).toContain("is locked by 'xcimg lite (test)'");
      expect(existsSync(dir)).toBe(false);
      expect((await b.run("image", "list")).stdout).toBe("");
    } finally {
      lock.release();
      b.cleanup();
    }
  });

  test("a failure while placing files undoes everything (atomic import)", async () => {
    const name = `${OSVERS}-${ARCH}-netboot-compute`;
    const bundle = join(a.dir, "out", `${name}.tgz`);
    if (!existsSync(bundle)) {
      await makeNetboot(a);
      expect((await a.run("export", name, bundle)).code).toBe(0);
    }
    const b = new Sandbox("bundle-atomic");
    try {
      // the lists go to <installdir>/custom/..., which is a file here: the kernel, initrd and
      // root image are already in place when that fails, and must be taken back
      writeFileSync(join(b.installdir, "custom"), "not a directory");
      const before = treeListing(b.installdir, { xattrs: false });
      const r = await b.run("import", bundle);
      expect(r.code).toBe(74);
      expect(r.stderr).toContain("custom");
      expect(r.stdout).toBe("");
      const after = treeListing(b.installdir, { xattrs: false })
        .split("\n")
        .filter((l) => !l.startsWith('".xcimg'));
      expect(after.join("\n")).toBe(
        before
          .split("\n")
          .filter((l) => !l.startsWith('".xcimg'))
          .join("\n"),
      );
      expect(existsSync(join(b.installdir, "netboot"))).toBe(false);
      expect((await b.run("image", "list")).stdout).toBe("");
      expect(sh(["ls", "-A", join(b.installdir, ".xcimg")]).trim()).toBe("locks");
    } finally {
      b.cleanup();
    }
  });
});
