import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage, fakeKernels } from "../helpers/images";
import { readNewc } from "../helpers/newc";
import { BIN, Sandbox } from "../helpers/sandbox";
import { servedBootDir } from "../helpers/sn-site";
import { Sshd } from "../helpers/sshd";

/**
 * `xcimg sn sync` with real parts: the MN is a sandbox site behind a real OpenSSH sshd on
 * 127.0.0.1 whose sessions run the MN's own compiled xcimg; the SN is another sandbox running
 * the compiled binary, pulling over SSH and rsync. cn01 and cn02 are sn1's (cn02 through a
 * pool), cn03 belongs to sn2 only and boots another image that sn1 must not fetch.
 */
const A = "sna-x86_64-netboot-compute";
const B = "snb-x86_64-netboot-compute";
let mn: Sandbox;
let sn: Sandbox;
let sshd: Sshd;
let treeA: string;

const sha = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");
const mnDirA = () => join(mn.installdir, "netboot", "sna", "x86_64", "compute");
const snDirA = () => join(sn.installdir, "netboot", "sna", "x86_64", "compute");
const snToml = (knownHosts: string, port: number) =>
  [
    `[ssh]`,
    `identity = "${sshd.clientKey}"`,
    `[sn]`,
    `mn = "127.0.0.1"`,
    `mn_port = ${port}`,
    `known_hosts = "${knownHosts}"`,
    `name = "sn1"`,
    `remote_xcimg = "${BIN}"`,
  ].join("\n");

async function ok(sb: Sandbox, ...argv: string[]) {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r;
}

async function syncJson(extra: string[] = [], env: Record<string, string | undefined> = {}) {
  const r = await sn.bin(["--json", "sn", "sync", ...extra], { env });
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(r.stdout);
  } catch {
    // errors print JSON too; a crash would not
  }
  return {
    ...r,
    data: data as {
      images?: { image: string; received: number; files: number; switched: boolean; unchanged: boolean; verified: string[]; changes?: string[] }[];
      booted?: { node: string }[];
      error?: { message: string };
    },
  };
}

/** What a failed sync must not touch: the SN's database and every served file. */
function snState(): string {
  const files: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(`${p} ${sha(p)}`);
    }
  };
  walk(sn.tftpdir);
  walk(join(sn.installdir, "netboot"));
  if (existsSync(sn.dbPath)) files.push(`db ${sha(sn.dbPath)}`);
  return files.sort().join("\n");
}

beforeAll(async () => {
  expect(existsSync(BIN)).toBe(true);
  mn = new Sandbox("sn-mn");
  // the MN's own key: nodes booted from the SN must still let the MN in
  Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@mn", "-f", join(mn.dir, "mn_key")]);
  writeFileSync(mn.config, `${readFileSync(mn.config, "utf8")}\n[ssh]\nidentity = "${join(mn.dir, "mn_key")}"\n`);
  const a = await defineNetbootImage(mn, A, [], "sna");
  treeA = a.rootimg;
  fakeKernels(treeA);
  writeFileSync(join(treeA, "big"), randomBytes(4 << 20)); // an image worth not re-sending
  const b = await defineNetbootImage(mn, B, [], "snb");
  fakeKernels(b.rootimg);
  await ok(mn, "pack", A);
  await ok(mn, "pack", B);
  await ok(mn, "node", "set", "cn01", "groups=compute,all", "mac=52:54:00:aa:00:01", "netboot=xnba", "servicenode=sn1", "xcatmaster=sn1");
  await ok(mn, "node", "set", "cn02", "groups=compute,all", "mac=52:54:00:aa:00:02", "netboot=grub2", "servicenode=sn2,sn1", "ip=10.9.0.12");
  await ok(mn, "node", "set", "cn03", "groups=compute,all", "mac=52:54:00:aa:00:03", "netboot=xnba", "servicenode=sn2");
  await ok(mn, "boot", "cn01,cn02", "-o", A); // provmethod, and the nodes' host keys, made on the MN
  await ok(mn, "boot", "cn03", "-o", B);
  sshd = await Sshd.start({ config: [`SetEnv XCIMG_CONFIG=${mn.config}`] });
  sn = new Sandbox("sn-sn");
  writeFileSync(sn.config, `${readFileSync(sn.config, "utf8").replace('master = "10.0.2.2"', 'master = "10.9.0.1"')}\n${snToml(sshd.knownHosts, sshd.port)}\n`);
}, 120000);

afterAll(async () => {
  await sshd?.stop();
  mn?.cleanup();
  sn?.cleanup();
});

describe("sn sync", () => {
  test("an SN that serves no node: a clear error, nothing changed", async () => {
    const before = snState();
    const r = await syncJson(["--sn", "sn9"]);
    expect(r.code).toBe(66);
    expect(r.data.error?.message).toContain("no node names this service node (sn9)");
    expect(snState()).toBe(before);
  });

  test("an unknown or changed MN host key is refused (exit 69), nothing changed", async () => {
    const before = snState();
    const empty = join(sn.dir, "empty_known_hosts");
    writeFileSync(empty, "");
    const unknown = await syncJson([], { XCIMG_SN_KNOWN_HOSTS: empty });
    expect(unknown.code).toBe(69);
    expect(unknown.data.error?.message).toContain(`is not in ${empty}`);
    const other = join(sn.dir, "other_known_hosts");
    const impostor = Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(sn.dir, "impostor")]);
    expect(impostor.exitCode).toBe(0);
    writeFileSync(other, `[127.0.0.1]:${sshd.port} ${readFileSync(join(sn.dir, "impostor.pub"), "utf8").split(" ").slice(0, 2).join(" ")}\n`);
    const changed = await syncJson([], { XCIMG_SN_KNOWN_HOSTS: other });
    expect(changed.code).toBe(69);
    expect(changed.data.error?.message).toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");
    const down = await syncJson([], { XCIMG_SN_MN_PORT: "1" });
    expect(down.code).toBe(69);
    expect(snState()).toBe(before);
  });

  test("the SN gets exactly its nodes' image and boot files that point at the SN", async () => {
    const r = await syncJson();
    if (r.code !== 0) console.log(r.stderr);
    expect(r.code).toBe(0);
    expect(r.data.images?.map((i) => i.image)).toEqual([A, "postscripts"]);
    expect(r.data.images?.[0]?.verified).toContain("rootimg.cpio.gz");
    expect(r.data.booted?.map((b) => b.node).sort()).toEqual(["cn01", "cn02"]);
    // the image, byte for byte; the other image and cn03's files are not here
    expect(sha(join(snDirA(), "rootimg.cpio.gz"))).toBe(sha(join(mnDirA(), "rootimg.cpio.gz")));
    expect(sha(join(sn.tftpdir, servedBootDir(sn, A), "rootimg.cpio.gz"))).toBe(sha(join(mnDirA(), "rootimg.cpio.gz")));
    expect(existsSync(join(sn.installdir, "netboot", "snb"))).toBe(false);
    expect(existsSync(join(sn.tftpdir, "xcat", "osimage", B))).toBe(false);
    expect(existsSync(join(sn.tftpdir, "xcat", "xnba", "nodes", "cn03"))).toBe(false);
    // cn01 names the SN as its xcatmaster; cn02 (a pool, no xcatmaster) gets the SN's own master address
    const xnba = readFileSync(join(sn.tftpdir, "xcat", "xnba", "nodes", "cn01"), "utf8");
    expect(xnba).toContain("XCAT=sn1:3001");
    expect(xnba).not.toContain("10.0.2.2");
    const grub = readFileSync(join(sn.tftpdir, "boot", "grub2", "cn02"), "utf8");
    expect(grub).toContain("10.9.0.1");
    expect(grub).not.toContain("10.0.2.2");
    // the nodes keep the host keys the MN made for them
    const keys = (sb: Sandbox) => JSON.parse(readFileSync(join(sb.dir, "db", "ssh-host-keys.json"), "utf8")) as Record<string, { private: string }>;
    expect(keys(sn).cn01?.private).toBe(keys(mn).cn01?.private as string);
    // root on the node accepts the MN's key (and the SN's own)
    const overlay = readNewc(readFileSync(join(sn.tftpdir, "xcat", "overlay", "cn01.cpio")));
    const auth = overlay.find((e) => e.name.toString() === "root/.ssh/authorized_keys")?.data.toString() ?? "";
    expect(auth).toContain(readFileSync(join(mn.dir, "mn_key.pub"), "utf8").trim());
    // the SN's commands read the snapshot
    const list = await sn.run("node", "list");
    expect(list.stdout).toContain("cn03");
    expect((await sn.run("image", "list")).stdout).toContain(B);
  }, 60000);

  test("nothing changed: almost nothing moves; a re-pack moves the change, not the image", async () => {
    const idle = await syncJson();
    expect(idle.code).toBe(0);
    expect(idle.data.images?.[0]?.files).toBe(0);
    // nothing to change: the served generation stays as it is, nothing staged or re-read
    expect(idle.data.images?.[0]).toMatchObject({ unchanged: true, switched: false });
    writeFileSync(join(treeA, "etc-motd"), "repacked\n");
    await ok(mn, "pack", A);
    const full = readFileSync(join(mnDirA(), "rootimg.cpio.gz")).length + (4 << 20);
    const again = await syncJson();
    expect(again.code).toBe(0);
    const moved = again.data.images?.[0]?.received ?? 0;
    expect(again.data.images?.[0]).toMatchObject({ unchanged: false, switched: true });
    console.log(`sn sync: unchanged ${idle.data.images?.[0]?.received} bytes; after re-pack ${moved} bytes; image + tree ${full} bytes`);
    expect(moved).toBeLessThan(full / 2);
    expect(readFileSync(join(snDirA(), "rootimg", "etc-motd"), "utf8")).toBe("repacked\n");
    expect(sha(join(sn.tftpdir, servedBootDir(sn, A), "rootimg.cpio.gz"))).toBe(sha(join(mnDirA(), "rootimg.cpio.gz")));
  }, 60000);

  test("a mode, owner or xattr change on the MN lands on the new generation only: the served files' inodes are not changed in place", async () => {
    // the SN stages a changed image as hard links of the served one (core/sn/link-farm.ts)
    for (const f of ["etc-motd", "big"]) writeFileSync(join(treeA, `attr-${f}`), `${f}\n`);
    await ok(mn, "pack", A);
    expect((await syncJson()).code).toBe(0);
    const served = (f: string) => join(snDirA(), "rootimg", f);
    // the served inodes, held by a second name as a node holds them by an open file or an NFS handle
    const held = (f: string) => join(sn.dir, `held-${f}`);
    for (const f of ["attr-etc-motd", "attr-big", "big"]) linkSync(served(f), held(f));
    const before = (f: string) => lstatSync(held(f));
    const unchangedIno = lstatSync(served("etc-motd")).ino;
    const was = Object.fromEntries(["attr-etc-motd", "attr-big", "big"].map((f) => [f, before(f)]));
    chmodSync(join(treeA, "attr-etc-motd"), 0o600);
    chownSync(join(treeA, "attr-big"), 4242, 4242);
    execFileSync("setfattr", ["-n", "user.xcimg", "-v", "1", join(treeA, "big")]);
    await ok(mn, "pack", A);
    const r = await syncJson();
    expect(r.code, r.stderr).toBe(0);
    expect(r.data.images?.[0]).toMatchObject({ switched: true });
    // the new generation has the MN's attributes
    expect(lstatSync(served("attr-etc-motd")).mode & 0o777).toBe(0o600);
    expect(lstatSync(served("attr-big")).uid).toBe(4242);
    expect(execFileSync("getfattr", ["--only-values", "-n", "user.xcimg", served("big")]).toString()).toBe("1");
    // the old inodes kept theirs: nothing of the new generation reached them before (or after) the switch
    for (const f of Object.keys(was)) {
      const now = before(f);
      const then = was[f] as import("node:fs").Stats;
      expect(`${f} ${now.mode} ${now.uid}:${now.gid}`).toBe(`${f} ${then.mode} ${then.uid}:${then.gid}`);
      expect(lstatSync(served(f)).ino, f).not.toBe(now.ino);
    }
    expect(() => execFileSync("getfattr", ["--only-values", "-n", "user.xcimg", held("big")], { stdio: "pipe" })).toThrow();
    // an unchanged file is the same inode in both generations: linked, not copied
    expect(lstatSync(served("etc-motd")).ino).toBe(unchangedIno);
  }, 60000);

  test("sn status on the MN: each SN's last sync, and what changed on the MN since", async () => {
    type Status = {
      sn: string;
      nodes: string[];
      images: string[];
      lastSync: { at: string; from?: string; images: string[]; finished: { at: string; exit: number } | null } | null;
      behind: { definitions: boolean | null; tables: string[] | null; images: { image: string; why: string }[] } | null;
    };
    const status = async () => {
      const r = await mn.run("--json", "sn", "status");
      expect(r.code).toBe(0);
      return Object.fromEntries((JSON.parse(r.stdout) as { sns: Status[] }).sns.map((s) => [s.sn, s]));
    };
    // the previous test's sync was the last thing to happen: sn1 is up to date
    const now = await status();
    // sn9 only asked once (the first test) and serves nothing: its visit is still listed
    expect(Object.keys(now).sort()).toEqual(["sn1", "sn2", "sn9"]);
    expect(now.sn9?.nodes).toEqual([]);
    expect(now.sn9?.lastSync?.images).toEqual([]);
    expect(now.sn1?.nodes).toEqual(["cn01", "cn02"]);
    expect(now.sn1?.lastSync?.images).toEqual([A]);
    expect(now.sn1?.lastSync?.from).toBe("127.0.0.1");
    expect(now.sn1?.behind).toEqual({ definitions: false, tables: [], images: [] });
    // sn1's sync ran to its end and said so; sn9's stopped at once (exit 66) and never did
    expect(now.sn1?.lastSync?.finished?.exit).toBe(0);
    expect(now.sn9?.lastSync?.finished).toBeNull();
    // sn2 serves cn02 (a pool) and cn03, and never synced
    expect(now.sn2?.nodes).toEqual(["cn02", "cn03"]);
    expect(now.sn2?.images).toEqual([A, B]);
    expect(now.sn2?.lastSync).toBeNull();
    expect((await mn.run("sn", "status")).stdout).toContain("sn2: 2 node(s), image(s) ");
    // a re-pack and a definition change on the MN: sn1 lags behind both
    writeFileSync(join(treeA, "etc-status"), "lag\n");
    await ok(mn, "pack", A);
    await ok(mn, "node", "set", "cn01", "groups=compute,all,rack1");
    const later = await status();
    expect(later.sn1?.behind?.definitions).toBe(true);
    // which tables: the node's groups live in nodelist; nothing else changed
    expect(later.sn1?.behind?.tables).toEqual(["nodelist"]);
    expect(later.sn1?.behind?.images.map((i) => i.image)).toEqual([A]);
    expect(later.sn1?.behind?.images[0]?.why).toStartWith("changed ");
    const text = await mn.run("sn", "status");
    expect(text.stdout).toContain(
      `sn1: 2 node(s), image(s) ${A}; last sync ${later.sn1?.lastSync?.at} from 127.0.0.1, completed; behind: tables nodelist, ${A} (changed `,
    );
    expect(text.stdout).toContain("sn2: 2 node(s)");
    expect(text.stdout).toContain("never synced");
  });

  test("--dry-run from environment variables alone says what would move and changes nothing", async () => {
    writeFileSync(join(treeA, "etc-issue"), "dry\n");
    await ok(mn, "pack", A);
    const before = snState();
    const env = {
      XCIMG_CONFIG: "",
      XCIMG_INSTALLDIR: sn.installdir,
      XCIMG_TFTPDIR: sn.tftpdir,
      XCIMG_DB_PATH: sn.dbPath,
      XCIMG_MASTER: "10.9.0.1",
      XCIMG_SSH_IDENTITY: sshd.clientKey,
      XCIMG_SN_MN: "127.0.0.1",
      XCIMG_SN_MN_PORT: String(sshd.port),
      XCIMG_SN_KNOWN_HOSTS: sshd.knownHosts,
      XCIMG_SN_NAME: "sn1",
      XCIMG_SN_REMOTE_XCIMG: BIN,
    };
    const r = await syncJson(["--dry-run"], env);
    expect(r.code).toBe(0);
    expect(r.data.images?.[0]?.changes?.some((l) => l.includes("rootimg/etc-issue"))).toBe(true);
    expect(r.data.images?.[0]?.changes?.some((l) => l.includes("rootimg.cpio.gz"))).toBe(true);
    expect(snState()).toBe(before);
    const bad = await syncJson(["--dry-run"], { ...env, XCIMG_SN_MN_PORT: "port" });
    expect(bad.code).toBe(78);
    expect(bad.data.error?.message).toContain("XCIMG_SN_MN_PORT must be an integer");
  }, 60000);

  test("another sync running: exit 75", async () => {
    const holder = Bun.spawn(["sleep", "30"]);
    const lockDir = join(sn.installdir, ".xcimg", "locks");
    const file = join(lockDir, `${createHash("sha256").update("sn sync").digest("hex").slice(0, 32)}.lock`);
    writeFileSync(file, `${holder.pid}\nxcimg sn sync\nsn sync\n`);
    try {
      const r = await syncJson();
      expect(r.code).toBe(75);
      expect(r.data.error?.message).toContain("locked");
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  test("killed with -9 mid-transfer: the previous complete image is still served; the next sync completes", async () => {
    const served = sha(join(sn.tftpdir, servedBootDir(sn, A), "rootimg.cpio.gz"));
    const servedDir = sha(join(snDirA(), "rootimg.cpio.gz"));
    writeFileSync(join(treeA, "huge"), randomBytes(64 << 20));
    await ok(mn, "pack", A);
    const staged = join(sn.installdir, "netboot", "sna", "x86_64", ".compute.xcimg-sn-new");
    const proc = spawn(BIN, ["sn", "sync"], { env: { ...process.env, XCIMG_CONFIG: sn.config }, detached: true, stdio: "ignore" });
    const exited = new Promise<number | null>((res) => proc.on("exit", (code) => res(code)));
    const deadline = Date.now() + 30000;
    let sawPartial = false;
    while (Date.now() < deadline && proc.exitCode === null) {
      if (existsSync(join(staged, "rootimg")) && readdirSync(staged).some((f) => f.startsWith("."))) {
        sawPartial = true;
        break;
      }
      await Bun.sleep(2);
    }
    process.kill(-(proc.pid as number), "SIGKILL"); // xcimg and its rsync/ssh, as systemd kills a unit
    await exited;
    expect(sawPartial).toBe(true);
    expect(sha(join(sn.tftpdir, servedBootDir(sn, A), "rootimg.cpio.gz"))).toBe(served);
    expect(sha(join(snDirA(), "rootimg.cpio.gz"))).toBe(servedDir);
    expect(existsSync(join(snDirA(), "rootimg", "huge"))).toBe(false);
    const next = await syncJson();
    expect(next.code).toBe(0);
    expect(sha(join(sn.tftpdir, servedBootDir(sn, A), "rootimg.cpio.gz"))).toBe(sha(join(mnDirA(), "rootimg.cpio.gz")));
    expect(existsSync(staged)).toBe(false);
  }, 120000);
  test("an image whose files do not match its manifest is not switched in: exit 1, the other nodes done", async () => {
    await ok(mn, "node", "set", "cn04", "groups=compute,all", "mac=52:54:00:aa:00:04", "netboot=xnba", "servicenode=sn1", "provmethod=" + B);
    const mf = join(mn.installdir, "netboot", "snb", "x86_64", "compute", "xcimg-manifest.json");
    const good = readFileSync(mf, "utf8");
    const m = JSON.parse(good) as { artifacts: Record<string, { sha256: string }> };
    (m.artifacts["rootimg.cpio.gz"] as { sha256: string }).sha256 = "0".repeat(64);
    writeFileSync(mf, JSON.stringify(m));
    try {
      const r = await syncJson();
      expect(r.code).toBe(1);
      const failed = (r.data as { failed?: Record<string, string> }).failed ?? {};
      expect(Object.keys(failed)).toEqual(["cn04"]);
      expect(failed.cn04).toContain("its manifest says 0000");
      expect(existsSync(join(sn.installdir, "netboot", "snb", "x86_64", "compute"))).toBe(false);
      expect(existsSync(join(sn.tftpdir, "xcat", "xnba", "nodes", "cn04"))).toBe(false);
      expect(r.data.booted?.map((b) => b.node).sort()).toEqual(["cn01", "cn02"]);
    } finally {
      writeFileSync(mf, good);
    }
    const fixed = await syncJson();
    expect(fixed.code).toBe(0);
    expect(existsSync(join(sn.tftpdir, "xcat", "xnba", "nodes", "cn04"))).toBe(true);
  }, 60000);
});
