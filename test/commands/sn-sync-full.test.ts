import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage, fakeKernels } from "../helpers/images";
import { BIN, Sandbox } from "../helpers/sandbox";
import { Sshd } from "../helpers/sshd";

/**
 * `sn sync` onto a full disk, and its progress line on a terminal: the SN's installdir is a 24 MiB tmpfs. The first sync of a small
 * image fits; after the MN's image grows past what is left, the next sync fails with a message
 * that says the disk is full, exit 1, and the SN keeps serving the previous generation byte for
 * byte, with no staged copy left to fill the disk further.
 */
const A = "snfull-x86_64-netboot-compute";
let mn: Sandbox;
let sn: Sandbox;
let sshd: Sshd;
let tree: string;
let mounted = false;

const sha = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");
const snImageDir = () => join(sn.installdir, "netboot", "snfull", "x86_64");

function served(): string {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(`${p} ${sha(p)}`);
    }
  };
  walk(sn.tftpdir);
  walk(snImageDir());
  return out.sort().join("\n");
}

async function ok(sb: Sandbox, ...argv: string[]) {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r;
}

async function sync() {
  const r = await sn.bin(["--json", "sn", "sync"], { env: { SSH_AUTH_SOCK: "" } });
  let data: { images?: { image: string; switched: boolean }[]; failed?: Record<string, string> } = {};
  try {
    data = JSON.parse(r.stdout);
  } catch {
    // no JSON: the assertions show stderr
  }
  return { ...r, data };
}

beforeAll(async () => {
  expect(existsSync(BIN)).toBe(true);
  mn = new Sandbox("snfull-mn");
  const a = await defineNetbootImage(mn, A, [], "snfull");
  tree = a.rootimg;
  fakeKernels(tree);
  writeFileSync(join(tree, "data"), randomBytes(2 << 20));
  await ok(mn, "pack", A);
  await ok(mn, "node", "set", "cn01", "groups=compute,all", "mac=52:54:00:ac:00:01", "netboot=xnba", "servicenode=sn1");
  await ok(mn, "boot", "cn01", "-o", A);
  sshd = await Sshd.start({ config: [`SetEnv XCIMG_CONFIG=${mn.config}`] });
  sn = new Sandbox("snfull-sn");
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=24m,mode=755", "xcimg-snfull", sn.installdir]);
  mounted = true;
  writeFileSync(
    sn.config,
    `${readFileSync(sn.config, "utf8")}
[ssh]
identity = "${sshd.clientKey}"
[sn]
mn = "127.0.0.1"
mn_port = ${sshd.port}
known_hosts = "${sshd.knownHosts}"
name = "sn1"
remote_xcimg = "${BIN}"
`,
  );
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  if (mounted) execFileSync("umount", [sn.installdir]);
  mn?.cleanup();
  sn?.cleanup();
});

describe("sn sync onto a full disk", () => {
  test("a sync that does not fit says the disk is full; the previous generation is still served", async () => {
    // the first sync on a terminal (util-linux script gives it a pty): one progress line for the image
    const tty = Bun.spawnSync(["script", "-qec", `${BIN} sn sync`, "/dev/null"], {
      env: { ...process.env, XCIMG_CONFIG: sn.config, SSH_AUTH_SOCK: "" },
      stdout: "pipe",
    });
    const screen = tty.stdout.toString();
    expect(tty.exitCode, screen).toBe(0);
    expect(screen).toMatch(new RegExp(String.raw`\r\x1b\[2K${A}: 100%, [\d.]+ MB at [\d.]+[kMG]?B/s`));
    const first = await sync();
    expect(first.code, first.stderr).toBe(0);
    // not on a terminal (a timer's journal, --json): no progress drawing
    expect(first.stderr).not.toContain("\x1b[2K");
    const before = served();
    expect(before).toContain("rootimg.cpio.gz");
    // the image grows past the 24 MiB: incompressible, so its tree and its archive both need the room
    writeFileSync(join(tree, "more"), randomBytes(16 << 20));
    await ok(mn, "pack", A);
    const full = await sync();
    expect(full.code).toBe(1);
    console.log(`sn sync onto a full disk: ${full.data.failed?.cn01}`);
    expect(full.data.failed?.cn01 ?? "").toMatch(/the disk holding \S+\/netboot\/snfull\/x86_64 is full \(\d+ MiB free\)/);
    expect(full.stderr).toContain("is full");
    expect(served()).toBe(before);
    // nothing staged is left behind to keep the disk full
    expect(readdirSync(snImageDir()).filter((f) => f.includes("xcimg-sn-new"))).toEqual([]);
    // nor a partial file for a resume (rsync keeps one on a write error too): the disk must get its room back
    const partials = join(sn.installdir, ".xcimg-sn-partial");
    expect(existsSync(partials) ? readdirSync(partials) : []).toEqual([]);
    const df = execFileSync("df", ["-B1", "--output=used", sn.installdir], { encoding: "utf8" }).split("\n")[1]?.trim();
    expect(Number(df)).toBeLessThan(12 << 20);
  }, 120_000);
});
