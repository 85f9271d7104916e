import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fakeRhelMedia } from "../../helpers/fake-media";
import { installSite } from "../../helpers/install-site";
import { Sandbox } from "../../helpers/sandbox";

const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanup) c();
});

describe("install images through export and import", () => {
  test("an 'image media' image exports with its template and list (media=required) and installs nodes on the importing site", async () => {
    const a = new Sandbox("inst-exp");
    cleanup.push(() => a.cleanup());
    fakeRhelMedia(join(a.installdir, "rhels9.4", "x86_64"));
    expect((await a.run("image", "media", join(a.installdir, "rhels9.4", "x86_64"))).code).toBe(0);
    const bundle = join(a.dir, "rhel.tgz");
    const e = await a.run("export", "rhels9.4-x86_64-install-compute", bundle);
    expect(e.code).toBe(0);
    const manifest = Bun.spawnSync(["tar", "xzOf", bundle, "./rhels9.4-x86_64-install-compute/manifest.xml"]).stdout.toString();
    expect(manifest).toContain("<media>required</media>");
    expect(manifest).toContain(`<template>${join(a.installdir, "custom", "install", "rh", "compute.tmpl")}</template>`);

    const { sb: b, db } = await installSite("inst-imp");
    cleanup.push(() => {
      db.close();
      b.cleanup();
    });
    const noMedia = await b.run("import", bundle);
    expect(noMedia.code).not.toBe(0);
    expect(noMedia.stderr).toContain("This image requires that you first copy media for rhels9.4-x86_64");
    fakeRhelMedia(join(b.installdir, "rhels9.4", "x86_64"));
    const imp = await b.run("import", bundle, "-f", "hpc");
    expect(imp.code).toBe(0);
    const boot = await b.run("boot", "cn01", "-o", "rhels9.4-x86_64-install-hpc");
    // install nodes get root's authorized_keys now (xCAT's remoteshell); this site has no key
    expect(boot.stderr.replace(/^Warning: no public key at .*\n/m, "")).toBe("");
    expect(boot.stdout).toBe("cn01: install rhels9.4-x86_64-hpc\n");
    const ks = readFileSync(join(b.installdir, "autoinst", "cn01"), "utf8");
    expect(ks).toContain("url --url http://10.0.0.5:80/install/rhels9.4/x86_64");
    expect(ks).toContain('echo "cn01 installed from rhels9.4-x86_64-install-hpc');
  });
});
