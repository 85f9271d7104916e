import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { readNewc } from "../../helpers/newc";
import { Sandbox } from "../../helpers/sandbox";
import { listTree, makeImageRoot } from "../../helpers/statelite-fixture";

/**
 * osimage.rootfstype=ramdisk: lite also packs rootimg-statelite.gz (find | cpio -H newc |
 * pigz), exlist applied, statelite directories included; it extracts back to the tree.
 * The default (nfs) packs nothing.
 */
const sb = new Sandbox("lite-ramdisk");
const RD = "rhels9-x86_64-statelite-rd";
const NFS = "rhels9-x86_64-statelite-nfs";
const rdDir = join(sb.installdir, "netboot", "rhels9", "x86_64", "rd");
const nfsDir = join(sb.installdir, "netboot", "rhels9", "x86_64", "nfs");

beforeAll(async () => {
  const ex = join(sb.dir, "exlists");
  mkdirSync(ex, { recursive: true });
  writeFileSync(join(ex, "compute.exlist"), "./usr/share/doc*   # docs\n+./usr/share/doc/keep*\n#INCLUDE:more.exlist#\n\n");
  writeFileSync(join(ex, "more.exlist"), "-./var/cache*\n");
  for (const [img, profile, extra] of [
    [RD, "rd", ["rootfstype=ramdisk", `exlist=${join(ex, "compute.exlist")}`]],
    [NFS, "nfs", []],
  ] as const) {
    expect((await sb.run("image", "set", img, "provmethod=statelite", "osvers=rhels9", "osarch=x86_64", `profile=${profile}`, ...extra)).code).toBe(0);
  }
  for (const d of [rdDir, nfsDir]) {
    const root = join(d, "rootimg");
    makeImageRoot(root);
    for (const f of ["usr/share/doc/a/README", "usr/share/doc/keep/KEEP", "var/cache/apt/pkgcache.bin"]) {
      mkdirSync(join(root, f, ".."), { recursive: true });
      writeFileSync(join(root, f), `${f}\n`);
    }
  }
  expect((await sb.run("table", "set", "litefile", "image=ALL,file=/etc/hosts", "options=tmpfs")).code).toBe(0);
  expect((await sb.run("table", "set", "litefile", "image=ALL,file=/root/", "options=link")).code).toBe(0);
});
afterAll(() => sb.cleanup());

describe("ramdisk statelite images", () => {
  test("lite packs rootimg-statelite.gz (0644) with xCAT's messages and writes xcatinfo", async () => {
    const r = await sb.run("lite", RD);
    expect(r.code).toBe(0);
    const root = join(rdDir, "rootimg");
    const comp = "gzip"; // in-process gzip on every core (xCAT printed pigz or gzip)
    expect(r.stderr).toBe(
      [
        `Modifying ${root} ...`,
        // a tree made without xcimg's barrier (image/tree-barrier.ts) gets it at the first lite
        `closed ${root} to other users of this management node (root:root 0700, was 0:0 0755); nodes still get / as 0755`,
        `creating ${root}/.statelite`,
        `Modifying ${root} done.`,
        `Packing contents of ${root} ...`,
        `compress method: ${comp}`,
        `Packing contents of ${root} done.`,
        "",
      ].join("\n"),
    );
    const gz = join(rdDir, "rootimg-statelite.gz");
    expect(statSync(gz).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(root, "opt/xcat/xcatinfo"), "utf8")).toMatch(
      new RegExp(`^IMAGENAME='${RD}'\\nIMAGEUUID='\\w+-\\w+-\\w+-\\w+-\\w+'\\nTIMESTAMP='\\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\S+ \\d{4}'\\n$`),
    );
    expect(readdirNames(rdDir)).toEqual([".rootimg.node-mode", "rootimg", "rootimg-statelite.gz"]);
    expect(statSync(root).mode & 0o7777).toBe(0o700);
  });

  test("the archive extracts to the tree, statelite directories included, exlist applied", () => {
    const root = join(rdDir, "rootimg");
    const out = join(sb.dir, "extracted");
    mkdirSync(out);
    const x = Bun.spawnSync(["sh", "-c", `gzip -dc '${join(rdDir, "rootimg-statelite.gz")}' | cpio -idm --quiet`], { cwd: out, stderr: "pipe" });
    expect(x.stderr.toString()).toBe("");
    expect(x.exitCode).toBe(0);
    const excluded = (l: string) => / \/(usr\/share\/doc|var\/cache)/.test(l) && !l.includes("/usr/share/doc/keep");
    const expected = listTree(root)
      .split("\n")
      .filter((l) => !excluded(l));
    const got = listTree(out).split("\n");
    // cpio recreates the excluded /usr/share/doc only as the parent of the included keep/
    expect(got.filter((l) => l !== "d 0755 /usr/share/doc")).toEqual(expected);
    expect(got).toContain('f 0644 /usr/share/doc/keep/KEEP "usr/share/doc/keep/KEEP\\n"');
    expect(got).toContain("l 0777 /root -> ./.statelite/tmpfs/root"); // the target exactly as lite wrote it
    expect(got.some((l) => l.startsWith("f 0644 /.statelite/litefile.save"))).toBe(true);
    expect(existsSync(join(out, "var/cache"))).toBe(false);
    // the node's / is 0755 root:root, not the tree's 0700 barrier
    const top = readNewc(gunzipSync(readFileSync(join(rdDir, "rootimg-statelite.gz"))))[0];
    expect(top?.name.toString()).toBe(".");
    expect([top?.mode, top?.uid, top?.gid]).toEqual([0o40755, 0, 0]);
    expect(statSync(root).mode & 0o7777).toBe(0o700);
  });

  test("rootfstype nfs (the default) packs nothing", async () => {
    const r = await sb.run("lite", NFS);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("Packing");
    // the record of the nodes' / (an NFS root keeps it on the tree itself: image/tree-barrier.ts)
    expect(readdirNames(nfsDir)).toEqual([".rootimg.node-mode", "rootimg"]);
    expect(statSync(join(nfsDir, "rootimg")).mode & 0o7777).toBe(0o755);
    expect(existsSync(join(nfsDir, "rootimg/opt/xcat/xcatinfo"))).toBe(false);
  });
});

/** The directory's files, less the image manifest lite records (docs/provenance.md). */
function readdirNames(d: string): string[] {
  return readdirSync(d)
    .filter((n) => !n.startsWith("xcimg-manifest.json"))
    .sort();
}
