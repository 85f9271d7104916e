import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeNetboot, type SiteImage } from "../helpers/bundle-sites";
import { Sandbox } from "../helpers/sandbox";

/**
 * The image manifest through the CLI: `image show --manifest` on a real netboot image, what
 * pack records, and what import records for an unsigned bundle.
 */
let sb: Sandbox;
let img: SiteImage;
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

const DPKG_STATUS = `Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b2

Package: removed-one
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: coreutils
Status: install ok installed
Architecture: amd64
Version: 9.1-1
`;

beforeAll(async () => {
  sb = new Sandbox("manifest");
  img = await makeNetboot(sb);
  mkdirSync(join(img.dir, "rootimg/var/lib/dpkg"), { recursive: true });
  writeFileSync(join(img.dir, "rootimg/var/lib/dpkg/status"), DPKG_STATUS);
});
afterAll(() => sb.cleanup());

async function manifestOf(name: string) {
  const r = await sb.run("--json", "image", "show", name, "--manifest");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe("image manifest", () => {
  test("show --manifest computes identity, artifact digests, tree digest and packages without writing anything", async () => {
    const v = await manifestOf(img.name);
    expect(v.stored).toBe(false);
    expect(existsSync(join(img.dir, "xcimg-manifest.json"))).toBe(false);
    const m = v.manifest;
    expect(m.identity).toEqual({ name: img.name, provmethod: "netboot", osvers: "rhels8.5", osarch: "x86_64", profile: "compute" });
    expect(Object.keys(m.artifacts).sort()).toEqual(["initrd-stateless.gz", "kernel", "rootimg.cpio.gz"]);
    for (const f of Object.keys(m.artifacts)) expect(m.artifacts[f].sha256).toBe(sha(join(img.dir, f)));
    expect(m.tree.path).toBe("rootimg");
    expect(m.tree.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m.tree.entries).toBeGreaterThan(15);
    expect(m.packages).toEqual({ source: "dpkg", packages: ["bash 5.2.15-2+b2 amd64", "coreutils 9.1-1 amd64"] });
    expect(m.origin).toEqual({ how: "unknown" });

    const text = await sb.run("image", "show", img.name, "--manifest");
    expect(text.stdout).toContain(`identity:   ${img.name}: netboot rhels8.5 x86_64 profile compute`);
    expect(text.stdout).toContain(`kernel               sha256:${sha(join(img.dir, "kernel"))}`);
    expect(text.stdout).toContain("packages:   2 (dpkg");
    expect(text.stdout).toContain("(not stored yet; computed now)");
  });

  test("pack stores the manifest with the new archive's digest", async () => {
    const r = await sb.run("pack", img.name, "-c", "zstd");
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    const stored = JSON.parse(readFileSync(join(img.dir, "xcimg-manifest.json"), "utf8"));
    expect(stored.artifacts["rootimg.cpio.zst"].sha256).toBe(sha(join(img.dir, "rootimg.cpio.zst")));
    expect(stored.artifacts["rootimg.cpio.gz"]).toBeUndefined(); // pack leaves one packed image
    const v = await manifestOf(img.name);
    expect(v.stored).toBe(true);
    expect(v.manifest).toEqual(stored);
  });

  test("an rpm tree's packages come from rpm --root when rpm is installed, else are unknown and say why", async () => {
    const other = await makeNetboot(sb, "rpmtree");
    mkdirSync(join(other.dir, "rootimg/var/lib/rpm"), { recursive: true });
    const p = (await manifestOf(other.name)).manifest.packages;
    if (Bun.which("rpm")) expect(p.source).toBe("rpm");
    else expect(p).toEqual({ source: "unknown", reason: "the tree has an rpm database (var/lib/rpm) but rpm is not installed on this management node" });
  });

  test("an unsigned bundle's import records where the image came from", async () => {
    const bundle = join(sb.dir, "b.tgz");
    expect((await sb.run("export", img.name, bundle)).code).toBe(0);
    const site = new Sandbox("manifest-b");
    try {
      const r = await site.run("import", bundle);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("is not signed");
      const m = JSON.parse(readFileSync(join(site.installdir, "netboot/rhels8.5/x86_64/compute/xcimg-manifest.json"), "utf8"));
      expect(m.origin.how).toBe("import");
      expect(m.origin.bundle).toBe(bundle);
      expect(m.origin.signer).toBeNull();
      expect(m.tree).toBeNull(); // a netboot bundle carries the packed image, not the tree
      expect(m.artifacts["rootimg.cpio.zst"].sha256).toBe(sha(join(img.dir, "rootimg.cpio.zst")));
      const v = await site.run("image", "verify", img.name);
      expect(v.code).toBe(0);
      expect(v.stdout).toContain("not signed");
    } finally {
      site.cleanup();
    }
  });
});
