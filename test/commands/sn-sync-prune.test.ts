import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { partialDirOf } from "../../src/core/sn/partial";
import { defineNetbootImage, fakeKernels } from "../helpers/images";
import { BIN, Sandbox } from "../helpers/sandbox";
import { pointSnAtMn } from "../helpers/sn-site";
import { Sshd } from "../helpers/sshd";

/**
 * `sn sync` reporting and `--prune` removing what the SN holds but no longer serves, with real
 * parts: the MN is a sandbox site behind a real sshd on 127.0.0.1 whose sessions run the
 * compiled xcimg, the SN another sandbox running the compiled binary. sn1 serves cn01 and cn02
 * (image A), cn03 (image B, moved to sn2 later) and cn04 (statelite image L, an NFS root,
 * deleted on the MN later); cn05 is sn2's, so sn2 is a service node to move to.
 */
const A = "pra-x86_64-netboot-compute";
const B = "prb-x86_64-netboot-compute";
const L = "prl-x86_64-statelite-compute";
const KVER = "6.1.0-test-amd64";
let mn: Sandbox;
let sn: Sandbox;
let sshd: Sshd;

type Stale = {
  images: { image: string; dirs: string[]; files: string[]; nfsRoot: boolean; removed: boolean; kept?: string }[];
  nodes: { node: string; files: string[]; removed: boolean }[];
  generations: { image: string; dir: string; removed: boolean }[];
};
const sha = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");
const snDir = (osvers: string) => join(sn.installdir, "netboot", osvers, "x86_64", "compute");
const xnba = (node: string) => join(sn.tftpdir, "xcat", "xnba", "nodes", node);
const published = (image: string) => join(sn.tftpdir, "xcat", "osimage", image);

async function ok(sb: Sandbox, ...argv: string[]) {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r;
}

async function sync(...extra: string[]) {
  const r = await sn.bin(["--json", "sn", "sync", ...extra]);
  let data: { stale?: Stale; failed?: Record<string, string>; error?: { message: string } } = {};
  try {
    data = JSON.parse(r.stdout);
  } catch {
    // a crash prints no JSON: the assertions on data then fail
  }
  return { ...r, data };
}

/** Every file under the SN's tftpdir and installdir with its digest: what a sync that must remove nothing leaves as it was. */
function snFiles(): string {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(`${p} ${sha(p)}`);
      else out.push(`${p} ${e.isSymbolicLink() ? "link" : "other"}`);
    }
  };
  walk(sn.tftpdir);
  walk(join(sn.installdir, "netboot"));
  return out.sort().join("\n");
}

function put(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

/** A statelite image whose nodes mount its tree over NFS (rootfstype unset): the contract test's fixture, smaller. */
async function statelite(sb: Sandbox): Promise<void> {
  await ok(sb, "image", "set", L, "provmethod=statelite", "osvers=prl", "osarch=x86_64", "profile=compute");
  const tree = join(sb.installdir, "netboot", "prl", "x86_64", "compute", "rootimg");
  put(join(tree, "etc/hostname"), "lite\n");
  put(join(tree, `boot/vmlinuz-${KVER}`), "kernel\n");
  const m = join(tree, `lib/modules/${KVER}`);
  for (const k of ["drivers/net/virtio_net.ko", "fs/nfs/nfs.ko", "net/sunrpc/sunrpc.ko"]) put(join(m, "kernel", k), `module ${k}\n`);
  put(join(m, "modules.dep"), "kernel/drivers/net/virtio_net.ko:\nkernel/net/sunrpc/sunrpc.ko:\nkernel/fs/nfs/nfs.ko: kernel/net/sunrpc/sunrpc.ko\n");
  put(join(m, "modules.alias"), "");
  await ok(sb, "table", "set", "litefile", `image=${L},file=/etc/hostname`, "options=tmpfs");
  await ok(sb, "table", "set", "statelite", "node=cn04", "statemnt=10.9.0.99:/nodedata");
  await ok(sb, "lite", L);
  copyFileSync(join(tree, `boot/vmlinuz-${KVER}`), join(tree, "..", "kernel"));
}

beforeAll(async () => {
  expect(existsSync(BIN)).toBe(true);
  mn = new Sandbox("snprune-mn");
  for (const [img, osvers] of [
    [A, "pra"],
    [B, "prb"],
  ] as const) {
    const d = await defineNetbootImage(mn, img, [], osvers);
    fakeKernels(d.rootimg);
    await ok(mn, "pack", img);
  }
  await statelite(mn);
  const node = (n: string, ...attrs: string[]) => ok(mn, "node", "set", n, "groups=compute,all", ...attrs);
  await node("cn01", "mac=52:54:00:bb:00:01", "netboot=xnba", "servicenode=sn1", "xcatmaster=sn1");
  await node("cn02", "mac=52:54:00:bb:00:02", "netboot=grub2", "servicenode=sn1", "ip=10.9.0.12");
  await node("cn03", "mac=52:54:00:bb:00:03", "netboot=pxe", "servicenode=sn1", "xcatmaster=sn1", "ip=10.9.0.13");
  await node("cn04", "mac=52:54:00:bb:00:04", "netboot=xnba", "servicenode=sn1", "xcatmaster=sn1", "nfsserver=10.9.0.1");
  await node("cn05", "mac=52:54:00:bb:00:05", "netboot=xnba", "servicenode=sn2");
  await ok(mn, "boot", "cn01,cn02", "-o", A);
  await ok(mn, "boot", "cn03,cn05", "-o", B);
  await ok(mn, "boot", "cn04", "-o", L);
  sshd = await Sshd.start({ config: [`SetEnv XCIMG_CONFIG=${mn.config}`] });
  sn = new Sandbox("snprune-sn");
  pointSnAtMn(sn, sshd, { master: "10.9.0.1" });
  // the admin's own things on the SN, which no sync made: never touched, whatever is stale
  put(join(sn.installdir, "netboot", "mine", "notes.txt"), "the admin's\n");
  put(join(sn.installdir, "netboot", "prb", "x86_64", "site-extra", "keep"), "the admin's too\n");
  put(xnba("cn99"), "#!gpxe\n# the admin's own node file\n");
}, 120000);

afterAll(async () => {
  await sshd?.stop();
  mn?.cleanup();
  sn?.cleanup();
});

describe("sn sync: what the SN no longer serves", () => {
  test("the first sync serves everything and finds nothing stale", async () => {
    const r = await sync();
    if (r.code !== 0) console.log(r.stderr);
    expect(r.code).toBe(0);
    expect(r.data.stale).toEqual({ images: [], nodes: [], generations: [] });
    for (const n of ["cn01", "cn03", "cn04"].map((n) => (n === "cn03" ? join(sn.tftpdir, "pxelinux.cfg", n) : xnba(n)))) expect(existsSync(n)).toBe(true);
    expect(existsSync(join(snDir("prb"), "rootimg.cpio.gz"))).toBe(true);
    expect(existsSync(join(snDir("prl"), "rootimg", "etc", "hostname"))).toBe(true);
    // the record of what it placed is private state, beside the database copy
    const rec = JSON.parse(readFileSync(join(sn.dir, "db", "sn-served.json"), "utf8")) as { images: Record<string, unknown>; nodes: Record<string, unknown> };
    expect(Object.keys(rec.images).sort()).toEqual([A, B, L]);
    expect(Object.keys(rec.nodes).sort()).toEqual(["cn01", "cn02", "cn03", "cn04"]);
  }, 90000);

  test("a node moved to another SN: reported with its image, nothing removed without --prune", async () => {
    await ok(mn, "sn", "move", "cn03", "sn2");
    const before = snFiles();
    const r = await sync();
    expect(r.code).toBe(0);
    expect(r.data.stale?.nodes.map((n) => n.node)).toEqual(["cn03"]);
    expect(r.data.stale?.nodes[0]?.files).toEqual(
      expect.arrayContaining([join(sn.tftpdir, "pxelinux.cfg", "cn03"), join(sn.tftpdir, "pxelinux.cfg", "01-52-54-00-bb-00-03")]),
    );
    const b = r.data.stale?.images.find((i) => i.image === B);
    expect(b?.dirs).toEqual(expect.arrayContaining([snDir("prb"), published(B)]));
    expect(b?.removed).toBe(false);
    // neither the admin's directory beside it nor anything else of the SN is named
    expect(JSON.stringify(r.data.stale)).not.toContain("site-extra");
    expect(JSON.stringify(r.data.stale)).not.toContain("mine");
    expect(r.stderr).toContain("cn03: no longer served by this SN: its boot files are left in place (--prune removes them)");
    expect(r.stderr).toMatch(new RegExp(`image ${B}: no node of this SN boots it: .* left in place \\(--prune removes it\\)`));
    expect(snFiles()).toBe(before);
  }, 60000);

  test("--dry-run --prune reports the same and removes nothing", async () => {
    const before = snFiles();
    const r = await sync("--dry-run", "--prune");
    expect(r.code).toBe(0);
    expect(r.data.stale?.nodes.map((n) => n.node)).toEqual(["cn03"]);
    expect(r.data.stale?.images.map((i) => i.image)).toEqual([B]);
    expect(r.stderr).toContain("'sn sync --prune' would remove them");
    expect(snFiles()).toBe(before);
  }, 60000);

  test("a partial sync with --prune removes nothing and says why", async () => {
    await ok(mn, "node", "set", "cn06", "groups=all", "mac=52:54:00:bb:00:06", "servicenode=sn1"); // names no image: its sync fails
    try {
      const before = snFiles();
      const r = await sync("--prune");
      expect(r.code).toBe(1);
      expect(r.data.failed?.cn06).toContain("names no image");
      expect(r.stderr).toContain("not pruning: this sync did not complete (exit 1)");
      expect(r.data.stale?.nodes.every((n) => !n.removed)).toBe(true);
      expect(snFiles()).toBe(before);
    } finally {
      await ok(mn, "node", "rm", "cn06");
    }
  }, 60000);

  test("--prune removes the moved node's boot files and the image no node boots; the rest is untouched", async () => {
    const keep = [
      xnba("cn01"),
      join(sn.tftpdir, "boot", "grub2", "cn02"),
      join(sn.tftpdir, "xcat", "overlay", "cn01.cpio"),
      join(snDir("pra"), "rootimg.cpio.gz"),
    ];
    const sums = keep.map(sha);
    // what an interrupted sync of the stale image left for a resume goes with it
    const partial = partialDirOf(join(sn.installdir, ".xcimg-sn-partial"), snDir("prb"));
    mkdirSync(partial, { recursive: true });
    writeFileSync(join(partial, "rootimg.cpio.gz"), "part of a file\n");
    const r = await sync("--prune");
    if (r.code !== 0) console.log(r.stderr);
    expect(r.code).toBe(0);
    expect(r.data.stale?.nodes).toMatchObject([{ node: "cn03", removed: true }]);
    expect(r.data.stale?.images).toMatchObject([{ image: B, removed: true }]);
    for (const f of ["cn03", "01-52-54-00-bb-00-03", "0A09000D"]) expect(existsSync(join(sn.tftpdir, "pxelinux.cfg", f))).toBe(false);
    expect(existsSync(join(sn.tftpdir, "xcat", "overlay", "cn03.cpio"))).toBe(false);
    expect(existsSync(snDir("prb"))).toBe(false);
    expect(existsSync(published(B))).toBe(false);
    expect(existsSync(partial)).toBe(false);
    // no trash left beside them, and a removed image is never left half-deleted under its name
    expect(readdirSync(join(sn.installdir, "netboot", "prb", "x86_64"))).toEqual(["site-extra"]);
    expect(readdirSync(join(sn.tftpdir, "xcat", "osimage")).filter((n) => n.startsWith("."))).toEqual([]);
    // the other nodes' files and the served image, byte for byte; the admin's own files
    expect(keep.map(sha)).toEqual(sums);
    expect(readFileSync(join(sn.installdir, "netboot", "mine", "notes.txt"), "utf8")).toBe("the admin's\n");
    expect(readFileSync(join(sn.installdir, "netboot", "prb", "x86_64", "site-extra", "keep"), "utf8")).toBe("the admin's too\n");
    expect(existsSync(xnba("cn99"))).toBe(true);
    expect(r.stderr).toContain("cn03: no longer served by this SN: removed its boot files");
    // pruned: the next sync finds nothing stale
    const again = await sync();
    expect(again.data.stale).toEqual({ images: [], nodes: [], generations: [] });
  }, 90000);

  test("a node deleted on the MN whose image is an NFS root: its files go, the image stays without --force", async () => {
    await ok(mn, "node", "rm", "cn04");
    const r = await sync("--prune");
    if (r.code !== 0) console.log(r.stderr);
    expect(r.code).toBe(0);
    expect(r.data.stale?.nodes).toMatchObject([{ node: "cn04", removed: true }]);
    expect(existsSync(xnba("cn04"))).toBe(false);
    expect(existsSync(join(sn.tftpdir, "xcat", "overlay", "cn04.cpio"))).toBe(false);
    const l = r.data.stale?.images.find((i) => i.image === L);
    expect(l).toMatchObject({ nfsRoot: true, removed: false });
    expect(l?.kept).toContain("mount its tree over NFS");
    expect(r.stderr).toContain(`image ${L}: no node of this SN boots it: kept`);
    expect(r.stderr).toContain("--force");
    expect(existsSync(join(snDir("prl"), "rootimg", "etc", "hostname"))).toBe(true);

    expect((await sn.bin(["sn", "sync", "--force"])).code).toBe(64); // --force alone is a mistake
    const forced = await sync("--prune", "--force");
    expect(forced.code).toBe(0);
    expect(forced.data.stale?.images).toMatchObject([{ image: L, removed: true }]);
    expect(existsSync(snDir("prl"))).toBe(false);
    expect(existsSync(published(L))).toBe(false);
    // what is still served is still there
    expect(existsSync(join(snDir("pra"), "rootimg.cpio.gz"))).toBe(true);
    expect(existsSync(xnba("cn01"))).toBe(true);
  }, 90000);

  test("every node moved away: without --prune an error that says what is left; with it, all withdrawn", async () => {
    await ok(mn, "sn", "move", "cn01,cn02", "sn2");
    const before = snFiles();
    const r = await sync();
    expect(r.code).toBe(66);
    expect(r.data.error?.message).toContain("no node names this service node");
    expect(r.data.error?.message).toContain("earlier syncs left the boot files of 2 node(s) here (cn01, cn02)");
    expect(r.stderr).toContain("'xcimg sn sync --prune' withdraws");
    expect(snFiles()).toBe(before);
    const p = await sync("--prune");
    expect(p.code).toBe(0);
    expect(p.stderr).toContain("no node names this SN any more (sn1): withdrawing what earlier syncs left for 2 node(s)");
    expect(p.data.stale?.nodes).toMatchObject([
      { node: "cn01", removed: true },
      { node: "cn02", removed: true },
    ]);
    expect(p.data.stale?.images).toMatchObject([{ image: A, removed: true }]);
    expect(existsSync(xnba("cn01"))).toBe(false);
    expect(existsSync(join(sn.tftpdir, "boot", "grub2", "cn02"))).toBe(false);
    expect(existsSync(snDir("pra"))).toBe(false);
    // the admin's own files are still not the SN's to remove
    expect(readFileSync(join(sn.installdir, "netboot", "mine", "notes.txt"), "utf8")).toBe("the admin's\n");
    expect(existsSync(xnba("cn99"))).toBe(true);
    // nothing left of earlier syncs: an empty SN is the plain error again
    const again = await sync("--prune");
    expect(again.code).toBe(66);
    expect(again.data.error?.message).not.toContain("earlier syncs");
  }, 90000);
});
