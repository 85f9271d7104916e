import { describe, expect, test } from "bun:test";
import type { Config } from "../../../src/core/config/schema";
import type { Image } from "../../../src/core/defs/image";
import { imageFacts } from "../../../src/core/image/method-facts";
import { rootImgDir } from "../../../src/core/image/paths";
import { treeIsNfsRoot } from "../../../src/core/image/tree-barrier";
import { manifestPath, treeOf } from "../../../src/core/provenance/manifest";

/** What core reads from the methods' facts (src/provmethods/<m>/facts.ts), through core's own accessors. */
const config = { installdir: "/inst" } as Config; // rootImgDir and manifestPath read installdir only
const img = (name: string, attrs: Record<string, string>): Image => ({ name, attrs: { osvers: "rhels9", osarch: "x86_64", profile: "compute", ...attrs } });

describe("image facts", () => {
  test("the default image directory of each method, and of an unset or unknown one", () => {
    expect(rootImgDir(config, img("g1", { provmethod: "sysclone" }))).toBe("/inst/sysclone/images/g1");
    for (const pm of ["netboot", "statelite", "install", "", "raw"]) {
      expect(rootImgDir(config, img("x", { provmethod: pm }))).toBe("/inst/netboot/rhels9/x86_64/compute");
    }
    // rootimgdir wins whatever the method
    expect(rootImgDir(config, img("g1", { provmethod: "sysclone", rootimgdir: "/srv/g1" }))).toBe("/srv/g1");
  });

  test("the manifest lives beside a tree that is the image directory, inside it otherwise", () => {
    expect(manifestPath(config, img("g1", { provmethod: "sysclone" }))).toBe("/inst/sysclone/images/g1.xcimg-manifest.json");
    expect(manifestPath(config, img("n", { provmethod: "netboot" }))).toBe("/inst/netboot/rhels9/x86_64/compute/xcimg-manifest.json");
    expect(treeOf(config, img("n", { provmethod: "netboot", rootimgdir: "/nonexistent" }))).toBeNull();
  });

  test("trees, site-file kinds and NFS roots per method", () => {
    expect(["install", "netboot", "statelite", "sysclone", ""].map((m) => [imageFacts(m).tree, imageFacts(m).customDir])).toEqual([
      [null, "diskful"],
      ["rootimg", "diskless"],
      ["rootimg", "diskless"],
      [".", "diskful"],
      ["rootimg", "diskless"],
    ]);
    expect(treeIsNfsRoot(img("s", { provmethod: "statelite" }))).toBe(true);
    expect(treeIsNfsRoot(img("s", { provmethod: "statelite", rootfstype: "ramdisk" }))).toBe(false);
    expect(treeIsNfsRoot(img("n", { provmethod: "netboot" }))).toBe(false);
  });
});
