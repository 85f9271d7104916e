import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, Sandbox } from "../helpers/sandbox";
import { servedBootDir } from "../helpers/sn-site";
import { Sshd } from "../helpers/sshd";
import { defineFakeSyscloneImage } from "../helpers/sysclone-image";

/**
 * `sn sync` of a sysclone image (issue #18): besides the image's tree, the SN mirrors what the
 * method keeps outside it — clone/<image> with the clone environment and the disk archive nodes
 * fetch — checked against the image manifest (which for such an image lies beside its tree),
 * and switched in only when every digest matches. The MN's `sn status` then tells whether the
 * sync completed. Real sshd on 127.0.0.1, the compiled binary on both sides.
 */
const IMG = "snclone";
let mn: Sandbox;
let sn: Sandbox;
let sshd: Sshd;

const sha = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");
const cloneOn = (sb: Sandbox, f: string) => join(sb.installdir, "sysclone", "clone", IMG, f);
const manifestOn = (sb: Sandbox) => join(sb.installdir, "sysclone", "images", `${IMG}.xcimg-manifest.json`);

async function ok(sb: Sandbox, ...argv: string[]) {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r;
}

type Sync = { images?: { image: string; verified: string[]; switched: boolean }[]; failed?: Record<string, string> };
async function syncJson() {
  const r = await sn.bin(["--json", "sn", "sync"]);
  let data: Sync = {};
  try {
    data = JSON.parse(r.stdout);
  } catch {
    // a crash prints no JSON
  }
  return { ...r, data };
}

beforeAll(async () => {
  expect(existsSync(BIN)).toBe(true);
  mn = new Sandbox("snc-mn");
  await defineFakeSyscloneImage(mn, IMG);
  await ok(mn, "node", "set", "cn01", "groups=all", "mac=52:54:00:dd:00:01", "servicenode=sn1", "xcatmaster=sn1");
  // on the MN: the archive and environment are built, cn01 gets its rows; its files are sn1's
  await ok(mn, "node", "set", "cn02", "groups=all", "mac=52:54:00:dd:00:02", "servicenode=sn1", "xcatmaster=sn1");
  await ok(mn, "clone", "cn01,cn02", "-o", IMG);
  // cn02 has finished cloning: its status report switched it to local boot (status.ts)
  await ok(mn, "node", "set", "cn02", "currstate=boot", "status=installed");
  sshd = await Sshd.start({ config: [`SetEnv XCIMG_CONFIG=${mn.config}`] });
  sn = new Sandbox("snc-sn");
  const snToml = [
    `[ssh]`,
    `identity = "${sshd.clientKey}"`,
    `[sn]`,
    `mn = "127.0.0.1"`,
    `mn_port = ${sshd.port}`,
    `known_hosts = "${sshd.knownHosts}"`,
    `name = "sn1"`,
    `remote_xcimg = "${BIN}"`,
  ].join("\n");
  writeFileSync(sn.config, `${readFileSync(sn.config, "utf8").replace('master = "10.0.2.2"', 'master = "10.9.0.1"')}\n${snToml}\n`);
}, 120000);

afterAll(async () => {
  await sshd?.stop();
  mn?.cleanup();
  sn?.cleanup();
});

describe("sn sync of a sysclone image", () => {
  test("a manifest digest that does not match: the clone archive is not switched in", async () => {
    const good = readFileSync(manifestOn(mn), "utf8");
    const m = JSON.parse(good) as { artifacts: Record<string, { sha256: string }> };
    expect(Object.keys(m.artifacts)).toContain("clone/rootimg.tar.gz");
    (m.artifacts["clone/rootimg.tar.gz"] as { sha256: string }).sha256 = "0".repeat(64);
    writeFileSync(manifestOn(mn), JSON.stringify(m));
    try {
      const r = await syncJson();
      expect(r.code).toBe(1);
      expect(r.data.failed?.cn01).toContain("clone/rootimg.tar.gz arrived with SHA-256");
      expect(existsSync(cloneOn(sn, "rootimg.tar.gz"))).toBe(false);
      expect(existsSync(join(sn.installdir, "sysclone", "images", IMG))).toBe(false);
    } finally {
      writeFileSync(manifestOn(mn), good);
    }
  }, 60000);

  test("the tree, the clone archive and environment and the manifest arrive, checked", async () => {
    const r = await syncJson();
    expect(r.code).toBe(0);
    expect(r.data.failed).toEqual({});
    const img = r.data.images?.find((i) => i.image === IMG);
    expect(img?.switched).toBe(true);
    expect(img?.verified).toEqual(expect.arrayContaining(["clone/rootimg.tar.gz", "clone/cloneenv.cpio.gz", "clone/kernel"]));
    for (const f of ["rootimg.tar.gz", "cloneenv.cpio.gz", "kernel"]) expect(sha(cloneOn(sn, f))).toBe(sha(cloneOn(mn, f)));
    expect(readFileSync(manifestOn(sn), "utf8")).toBe(readFileSync(manifestOn(mn), "utf8"));
    expect(readFileSync(join(sn.installdir, "sysclone", "images", IMG, "etc", "os-release"), "utf8")).toContain("ID=debian");
    // nothing staged is left behind, and the web server never sees the staging area (leading dot)
    expect(existsSync(join(sn.installdir, ".xcimg-sn-stage", "sysclone", "clone", IMG))).toBe(false);
    // the sync ran to its end and told the MN, with its exit code
    const st = await mn.run("--json", "sn", "status");
    const sn1 = (JSON.parse(st.stdout) as { sns: { sn: string; lastSync: { finished: { exit: number } | null } | null }[] }).sns.find((s) => s.sn === "sn1");
    expect(sn1?.lastSync?.finished?.exit).toBe(r.code);
    expect((await mn.run("sn", "status")).stdout).toMatch(/sn1: 2 node\(s\), image\(s\) snclone; last sync \S+ from 127\.0\.0\.1, completed; up to date/);
  }, 60000);

  test("the SN renders the clone nodes: cn01 clones from the SN's synced archive, finished cn02 boots locally", async () => {
    const archive = cloneOn(sn, "rootimg.tar.gz");
    const before = statSync(archive);
    const r = await syncJson();
    expect(r.code).toBe(0);
    // cn01's iPXE file and plan name its SN (noderes.xcatmaster sn1), and the archive is the SN's copy
    const xnba = readFileSync(join(sn.tftpdir, "xcat", "xnba", "nodes", "cn01"), "utf8");
    expect(xnba).toContain("#sysclone debian12-x86_64");
    expect(xnba).toContain("imgurl=http://sn1:80/install/sysclone/clone/snclone/cloneenv.cpio.gz");
    const overlay = readFileSync(join(sn.tftpdir, "xcat", "overlay", "cn01.cpio"), "latin1");
    expect(overlay).toContain("XC_MASTER='sn1'");
    // the archive and its chunk sums from the generation of cn01's clone environment (core/boot/generations.ts)
    const gen = servedBootDir(sn, IMG);
    expect(overlay).toContain(`XC_ARCHIVE='/tftpboot/${gen}/rootimg.tar.gz'`);
    expect(statSync(join(sn.tftpdir, gen, "rootimg.tar.gz")).ino).toBe(statSync(archive).ino);
    expect(readFileSync(join(sn.tftpdir, gen, "rootimg.tar.gz.sha256"))).toEqual(readFileSync(`${archive}.sha256`));
    expect(xnba).toContain(`/tftpboot/${gen}/cloneenv.cpio.gz`);
    // never rebuilt on the SN: same inode and mtime as synced, same digest as the MN's
    const after = statSync(archive);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(sha(archive)).toBe(sha(cloneOn(mn, "rootimg.tar.gz")));
    // cn02 finished: local boot, not a new clone from the SN
    expect(readFileSync(join(sn.tftpdir, "xcat", "xnba", "nodes", "cn02"), "utf8")).toBe("#!gpxe\n#boot\nexit\n");
  }, 60000);
});
