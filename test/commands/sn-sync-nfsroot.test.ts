import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { defineNetbootImage, fakeKernels } from "../helpers/images";
import { BIN, Sandbox } from "../helpers/sandbox";
import { pointSnAtMn } from "../helpers/sn-site";
import { Sshd } from "../helpers/sshd";

/**
 * A statelite image whose nodes mount its tree over NFS, changed on the MN: `sn sync` switches
 * the new generation in and keeps the one it replaced — the same directory inode, renamed
 * aside — because an NFS client's handles name inodes: nodes still running on it keep their
 * root until they reboot, where removing it would leave them with stale handles. It is reported
 * on every sync and removed only by `--prune --force`. A netboot image (its nodes load their
 * root into RAM) keeps no generation. Real parts: the MN is a sandbox behind a real sshd on
 * 127.0.0.1 running the compiled xcimg; the SN runs the compiled binary.
 */
const N = "nfa-x86_64-netboot-compute";
const L = "nfl-x86_64-statelite-compute";
const KVER = "6.1.0-test-amd64";
let mn: Sandbox;
let sn: Sandbox;
let sshd: Sshd;

type Generation = { image: string; dir: string; removed: boolean; kept?: string };
type Result = { stale?: { generations: Generation[] }; error?: { message: string } };

async function ok(sb: Sandbox, ...argv: string[]) {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r;
}

async function sync(...extra: string[]) {
  const r = await sn.bin(["--json", "sn", "sync", ...extra]);
  let data: Result = {};
  try {
    data = JSON.parse(r.stdout);
  } catch {
    // a crash prints no JSON: the assertions on data then fail
  }
  if (r.code !== 0) console.log(r.stderr);
  return { ...r, data };
}

function put(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

const mnTree = () => join(mn.installdir, "netboot", "nfl", "x86_64", "compute", "rootimg");
const snDir = (osvers: string) => join(sn.installdir, "netboot", osvers, "x86_64", "compute");
const siblings = (dir: string) => readdirSync(dirname(dir)).filter((n) => n.includes("xcimg-sn-kept"));

beforeAll(async () => {
  expect(existsSync(BIN)).toBe(true);
  mn = new Sandbox("snnfs-mn");
  const d = await defineNetbootImage(mn, N, [], "nfa");
  fakeKernels(d.rootimg);
  await ok(mn, "pack", N);
  await ok(mn, "image", "set", L, "provmethod=statelite", "osvers=nfl", "osarch=x86_64", "profile=compute");
  const tree = mnTree();
  put(join(tree, "etc/motd"), "generation 1\n");
  put(join(tree, `boot/vmlinuz-${KVER}`), "kernel\n");
  const m = join(tree, `lib/modules/${KVER}`);
  for (const k of ["drivers/net/virtio_net.ko", "fs/nfs/nfs.ko", "net/sunrpc/sunrpc.ko"]) put(join(m, "kernel", k), `module ${k}\n`);
  put(join(m, "modules.dep"), "kernel/drivers/net/virtio_net.ko:\nkernel/net/sunrpc/sunrpc.ko:\nkernel/fs/nfs/nfs.ko: kernel/net/sunrpc/sunrpc.ko\n");
  put(join(m, "modules.alias"), "");
  await ok(mn, "table", "set", "litefile", `image=${L},file=/etc/hostname`, "options=tmpfs");
  await ok(mn, "lite", L);
  const node = (n: string, ...attrs: string[]) => ok(mn, "node", "set", n, "groups=compute,all", "servicenode=sn1", "xcatmaster=sn1", ...attrs);
  await node("cn01", "mac=52:54:00:cc:00:01", "netboot=xnba", "nfsserver=10.9.0.1");
  await node("cn02", "mac=52:54:00:cc:00:02", "netboot=xnba");
  await ok(mn, "boot", "cn01", "-o", L);
  await ok(mn, "boot", "cn02", "-o", N);
  sshd = await Sshd.start({ config: [`SetEnv XCIMG_CONFIG=${mn.config}`] });
  sn = new Sandbox("snnfs-sn");
  pointSnAtMn(sn, sshd, { master: "10.9.0.1" });
}, 120000);

afterAll(async () => {
  await sshd?.stop();
  mn?.cleanup();
  sn?.cleanup();
});

describe("sn sync: an NFS-root image's replaced generation stays for the nodes that mount it", () => {
  let old: { dir: number; root: number };

  test("the first sync serves it; nothing is kept", async () => {
    const r = await sync();
    expect(r.code).toBe(0);
    expect(readFileSync(join(snDir("nfl"), "rootimg", "etc", "motd"), "utf8")).toBe("generation 1\n");
    expect(r.data.stale?.generations).toEqual([]);
    old = { dir: lstatSync(snDir("nfl")).ino, root: lstatSync(join(snDir("nfl"), "rootimg")).ino };
  }, 90000);

  test("changed on the MN: the new generation is served, the old one kept whole under a hidden name with its inodes", async () => {
    put(join(mnTree(), "etc/motd"), "generation 2\n");
    await ok(mn, "lite", L);
    writeFileSync(join(mn.installdir, "netboot", "nfa", "x86_64", "compute", "rootimg", "etc-issue"), "netboot changed too\n");
    await ok(mn, "pack", N);
    const r = await sync();
    expect(r.code).toBe(0);
    expect(readFileSync(join(snDir("nfl"), "rootimg", "etc", "motd"), "utf8")).toBe("generation 2\n");
    const kept = siblings(snDir("nfl"));
    expect(kept).toHaveLength(1);
    const keptDir = join(dirname(snDir("nfl")), kept[0] as string);
    expect(kept[0]).toStartWith("."); // hidden from the web server
    // what a running node's NFS handles name: the old directory and root inodes, their old content
    expect(lstatSync(keptDir).ino).toBe(old.dir);
    expect(lstatSync(join(keptDir, "rootimg")).ino).toBe(old.root);
    expect(readFileSync(join(keptDir, "rootimg", "etc", "motd"), "utf8")).toBe("generation 1\n");
    expect(r.data.stale?.generations).toEqual([{ image: L, dir: keptDir, removed: false }]);
    expect(r.stderr).toContain(`${L}: its nodes mount it over NFS: the generation it replaced stays at ${keptDir}`);
    expect(r.stderr).toContain("--prune --force removes it");
    // the netboot image was switched as before: nothing kept
    expect(siblings(snDir("nfa"))).toEqual([]);
  }, 90000);

  test("--prune alone keeps it and says why; --prune --force removes it, and the served generation stays", async () => {
    const kept = join(dirname(snDir("nfl")), siblings(snDir("nfl"))[0] as string);
    const r = await sync("--prune");
    expect(r.code).toBe(0);
    expect(r.data.stale?.generations).toMatchObject([{ image: L, dir: kept, removed: false }]);
    expect(r.data.stale?.generations[0]?.kept).toContain("--force");
    expect(existsSync(kept)).toBe(true);
    const forced = await sync("--prune", "--force");
    expect(forced.code).toBe(0);
    expect(forced.data.stale?.generations).toMatchObject([{ image: L, dir: kept, removed: true }]);
    expect(existsSync(kept)).toBe(false);
    expect(siblings(snDir("nfl"))).toEqual([]);
    expect(readFileSync(join(snDir("nfl"), "rootimg", "etc", "motd"), "utf8")).toBe("generation 2\n");
    expect(forced.stderr).toContain(`image ${L}: removed the previous generation ${kept}`);
    // gone from the record: the next sync has nothing to report
    expect((await sync()).data.stale?.generations).toEqual([]);
  }, 90000);
});
