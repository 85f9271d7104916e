import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { partialDirOf } from "../../src/core/sn/partial";
import { defineNetbootImage, fakeKernels } from "../helpers/images";
import { BIN, Sandbox } from "../helpers/sandbox";
import { pointSnAtMn, servedBootDir } from "../helpers/sn-site";
import { Sshd } from "../helpers/sshd";

/**
 * An interrupted `sn sync` resumes inside the large file it was receiving (rsync
 * --partial-dir): the MN is a real sshd on 127.0.0.1 whose sessions run the MN's xcimg and
 * rsync, the SN the compiled binary. The MN's rsync is held to 25 MB/s (a wrapper first in the
 * sessions' PATH adds --bwlimit) so a 40 MiB archive is still on the wire when the test stops
 * the sync: with SIGTERM to xcimg, and by killing the MN's sshd session (the connection lost).
 */
const A = "snres-x86_64-netboot-compute";
const BIG = 40 << 20;
let mn: Sandbox;
let sn: Sandbox;
let sshd: Sshd;
let tree: string;

const sha = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");
const mnDir = () => join(mn.installdir, "netboot", "snres", "x86_64", "compute");
const snDir = () => join(sn.installdir, "netboot", "snres", "x86_64", "compute");
const staged = () => join(sn.installdir, "netboot", "snres", "x86_64", ".compute.xcimg-sn-new");
const partialDir = () => partialDirOf(join(sn.installdir, ".xcimg-sn-partial"), snDir());
const osimageCopy = () => join(sn.tftpdir, servedBootDir(sn, A), "rootimg.cpio.gz");

async function ok(sb: Sandbox, ...argv: string[]) {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r;
}

type Pulled = { image: string; received: number; switched: boolean; verified: string[] };
async function sync() {
  const r = await sn.bin(["--json", "sn", "sync"], { env: { SSH_AUTH_SOCK: "" } });
  let data: { images?: Pulled[]; failed?: Record<string, string> } = {};
  try {
    data = JSON.parse(r.stdout);
  } catch {
    // no JSON: the assertions show stderr
  }
  return { ...r, image: data.images?.find((i) => i.image === A), failed: data.failed ?? {} };
}

/** Every served file of the SN with its digest and inode: what an interrupted sync must not touch. */
function served(): { text: string; inodes: Set<number> } {
  const out: string[] = [];
  const inodes = new Set<number>();
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        out.push(`${p} ${sha(p)}`);
        inodes.add(statSync(p).ino);
      }
    }
  };
  walk(sn.tftpdir);
  walk(snDir());
  return { text: out.sort().join("\n"), inodes };
}

/**
 * A new version of the image's one large file: fresh random data packed into rootimg.cpio.gz.
 * The tree's copy is removed after the pack, so the only large file that changes on the SN is
 * the packed archive and the bytes a sync reports are that file's.
 */
async function newVersion(): Promise<number> {
  writeFileSync(join(tree, "huge"), randomBytes(BIG));
  await ok(mn, "pack", A);
  rmSync(join(tree, "huge"));
  return statSync(join(mnDir(), "rootimg.cpio.gz")).size;
}

/** Start a sync and stop it once rsync has written `atLeast` bytes of the new archive; how it is stopped is `stop`'s. */
async function interruptedSync(stop: (proc: ReturnType<typeof Bun.spawn>) => void, atLeast = 8 << 20): Promise<{ code: number; stderr: string }> {
  const proc = Bun.spawn([BIN, "sn", "sync"], { env: { ...process.env, XCIMG_CONFIG: sn.config, SSH_AUTH_SOCK: "" }, stdout: "ignore", stderr: "pipe" });
  const deadline = Date.now() + 30_000;
  let written = 0;
  while (Date.now() < deadline && proc.exitCode === null) {
    // rsync receives into a temporary file in the staged copy, or updates the partial it resumes in place
    const candidates = [
      ...(existsSync(staged()) ? readdirSync(staged()).filter((f) => f.startsWith(".rootimg.cpio.gz.")) : []).map((f) => join(staged(), f)),
      join(partialDir(), "rootimg.cpio.gz"),
    ];
    written = Math.max(0, ...candidates.map((p) => statSync(p, { throwIfNoEntry: false })?.size ?? 0));
    if (written >= atLeast) break;
    await Bun.sleep(5);
  }
  expect(proc.exitCode, "the sync ended before the test could interrupt it").toBeNull();
  stop(proc);
  const code = await proc.exited;
  return { code, stderr: await new Response(proc.stderr as ReadableStream).text() };
}

/** The partial rsync kept: part of the new archive, a file of its own (no link of a served file). */
function keptPartial(before: { inodes: Set<number> }, archive: number): number {
  const p = join(partialDir(), "rootimg.cpio.gz");
  expect(existsSync(p)).toBe(true);
  const st = statSync(p);
  expect(st.size).toBeGreaterThanOrEqual(8 << 20);
  expect(st.size).toBeLessThan(archive);
  expect(st.nlink).toBe(1);
  expect(before.inodes.has(st.ino)).toBe(false);
  return st.size;
}

beforeAll(async () => {
  expect(existsSync(BIN)).toBe(true);
  mn = new Sandbox("snres-mn");
  const a = await defineNetbootImage(mn, A, [], "snres");
  tree = a.rootimg;
  fakeKernels(tree);
  await ok(mn, "pack", A);
  await ok(mn, "node", "set", "cn01", "groups=compute,all", "mac=52:54:00:ad:00:01", "netboot=xnba", "servicenode=sn1");
  await ok(mn, "boot", "cn01", "-o", A);
  const wrap = join(mn.dir, "slow-bin");
  mkdirSync(wrap, { recursive: true });
  writeFileSync(join(wrap, "rsync"), `#!/bin/sh\nexec ${Bun.which("rsync")} --bwlimit=25M "$@"\n`);
  chmodSync(join(wrap, "rsync"), 0o755);
  sshd = await Sshd.start({ config: [`SetEnv XCIMG_CONFIG=${mn.config} PATH=${wrap}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`] });
  sn = new Sandbox("snres-sn");
  pointSnAtMn(sn, sshd);

  const first = await sync();
  expect(first.code, first.stderr).toBe(0);
  expect(first.image?.switched).toBe(true);
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  mn?.cleanup();
  sn?.cleanup();
});

describe("sn sync resumes inside an interrupted file", () => {
  test("SIGTERM mid-archive: the served generation is untouched, the partial is kept, the next sync sends only the rest", async () => {
    const size = await newVersion();
    const before = served();
    const cut = await interruptedSync((p) => p.kill("SIGTERM"));
    expect(cut.code, cut.stderr).toBe(130);
    expect(served().text).toBe(before.text);
    expect(existsSync(staged())).toBe(false);
    const kept = keptPartial(before, size);
    const next = await sync();
    expect(next.code, next.stderr).toBe(0);
    const moved = next.image?.received ?? 0;
    console.log(`sn sync resume after SIGTERM: archive ${size} bytes, partial ${kept}, resumed sync received ${moved}`);
    // the rest of the archive and little else: a sync from scratch moves the whole archive
    expect(moved).toBeLessThan(size - kept + (1 << 20));
    expect(moved).toBeGreaterThan(size - kept - (1 << 20));
    expect(next.image?.verified).toContain("rootimg.cpio.gz");
    expect(sha(join(snDir(), "rootimg.cpio.gz"))).toBe(sha(join(mnDir(), "rootimg.cpio.gz")));
    // the copy nodes fetch is the new archive
    expect(sha(osimageCopy())).toBe(sha(join(mnDir(), "rootimg.cpio.gz")));
    expect(existsSync(partialDir())).toBe(false);
  }, 60_000);

  test("the MN's connection cut mid-archive: exit 69, the partial is kept and resumed", async () => {
    const size = await newVersion();
    const before = served();
    const cut = await interruptedSync(() => expect(sshd.killSessions()).toBeGreaterThan(0));
    expect(cut.code, cut.stderr).toBe(69);
    expect(cut.stderr).toContain("lost the management node");
    expect(served().text).toBe(before.text);
    const kept = keptPartial(before, size);
    const next = await sync();
    expect(next.code, next.stderr).toBe(0);
    const moved = next.image?.received ?? 0;
    console.log(`sn sync resume after a lost connection: archive ${size} bytes, partial ${kept}, resumed sync received ${moved}`);
    expect(moved).toBeLessThan(size - kept + (1 << 20));
    expect(sha(osimageCopy())).toBe(sha(join(mnDir(), "rootimg.cpio.gz")));
    expect(existsSync(partialDir())).toBe(false);
  }, 60_000);

  test("a partial of an older version is only a basis: the result is the MN's file, its digest checked", async () => {
    const older = await newVersion();
    const before = served();
    const cut = await interruptedSync((p) => p.kill("SIGTERM"));
    expect(cut.code, cut.stderr).toBe(130);
    keptPartial(before, older);
    // the MN moves on before the SN comes back: the partial matches nothing of the new file
    const size = await newVersion();
    const next = await sync();
    expect(next.code, next.stderr).toBe(0);
    expect(next.image?.verified).toContain("rootimg.cpio.gz");
    expect(next.image?.received ?? 0).toBeGreaterThan(size - (1 << 20));
    expect(sha(join(snDir(), "rootimg.cpio.gz"))).toBe(sha(join(mnDir(), "rootimg.cpio.gz")));
    expect(sha(osimageCopy())).toBe(sha(join(mnDir(), "rootimg.cpio.gz")));
    expect(existsSync(partialDir())).toBe(false);
  }, 60_000);

  test("a digest failure after a resume drops the partial: its data is not trusted again", async () => {
    const size = await newVersion();
    const before = served();
    const cut = await interruptedSync((p) => p.kill("SIGTERM"));
    expect(cut.code, cut.stderr).toBe(130);
    keptPartial(before, size);
    const mf = join(mnDir(), "xcimg-manifest.json");
    const good = readFileSync(mf, "utf8");
    const m = JSON.parse(good) as { artifacts: Record<string, { sha256: string }> };
    (m.artifacts["rootimg.cpio.gz"] as { sha256: string }).sha256 = "0".repeat(64);
    writeFileSync(mf, JSON.stringify(m));
    try {
      const bad = await sync();
      expect(bad.code).toBe(1);
      expect(bad.failed.cn01).toContain("its manifest says 0000");
      expect(served().text).toBe(before.text);
      expect(existsSync(partialDir())).toBe(false);
    } finally {
      writeFileSync(mf, good);
    }
    const fixed = await sync();
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(sha(osimageCopy())).toBe(sha(join(mnDir(), "rootimg.cpio.gz")));
  }, 60_000);
});
