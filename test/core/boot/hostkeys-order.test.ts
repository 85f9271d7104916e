import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage, fakeKernels } from "../../helpers/images";
import { readNewc } from "../../helpers/newc";
import { BIN, Sandbox } from "../../helpers/sandbox";

/**
 * A first `xcimg boot` of many nodes killed midway (SIGKILL, the compiled binary) must not have
 * handed out host keys it never saved: the keys are in the store before the first overlay
 * carrying one exists, and a re-run gives every node the key its overlay already has.
 */
const IMG = "keys-x86_64-netboot-compute";
const N = 3000;
let sb: Sandbox;

beforeAll(async () => {
  sb = new Sandbox("hostkeys-order");
  const { rootimg } = await defineNetbootImage(sb, IMG, [], "keys");
  fakeKernels(rootimg);
  const p = await sb.run("pack", IMG);
  if (p.code !== 0) throw new Error(p.stderr);
  const r = await sb.run("node", "set", `k[0001-${N}]`, "groups=keys,all", "netboot=xnba", "arch=x86_64");
  if (r.code !== 0) throw new Error(r.stderr);
  const rows = ["#node,interface,mac,comments,disable"];
  for (let i = 1; i <= N; i++)
    rows.push(`"k${String(i).padStart(4, "0")}",,"52:54:02:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}",,`);
  writeFileSync(join(sb.dir, "mac.csv"), `${rows.join("\n")}\n`);
  const m = await sb.run("table", "restore", "mac", join(sb.dir, "mac.csv"));
  if (m.code !== 0) throw new Error(m.stderr);
});
afterAll(() => sb?.cleanup());

const overlayDir = () => join(sb.tftpdir, "xcat", "overlay");
const overlays = () => (existsSync(overlayDir()) ? readdirSync(overlayDir()).filter((f) => f.endsWith(".cpio")) : []);
const store = () => JSON.parse(readFileSync(join(sb.dir, "db", "ssh-host-keys.json"), "utf8")) as Record<string, { private: string }>;
const overlayKey = (f: string) =>
  readNewc(readFileSync(join(overlayDir(), f)))
    .find((e) => e.name.toString() === "etc/ssh/ssh_host_ed25519_key")
    ?.data.toString();

describe("node host keys are saved before the overlays that carry them", () => {
  test(`SIGKILL of a first boot of ${N} nodes after its first overlay; the re-run keeps every handed-out key`, async () => {
    expect(existsSync(BIN)).toBe(true);
    const proc = Bun.spawn([BIN, "boot", "keys", "-o", IMG], { env: { ...process.env, XCIMG_CONFIG: sb.config }, stdout: "ignore", stderr: "ignore" });
    while (overlays().length === 0 && proc.exitCode === null) await Bun.sleep(1);
    proc.kill("SIGKILL");
    await proc.exited;
    const written = overlays();
    console.log(`killed after ${written.length} of ${N} overlays`);
    // killed midway (otherwise this test proves nothing), yet every node's key is already saved
    expect(proc.signalCode).toBe("SIGKILL");
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThan(N);
    const saved = store();
    expect(Object.keys(saved).length).toBe(N);
    const handedOut = new Map(written.map((f) => [f.replace(/\.cpio$/, ""), overlayKey(f)]));
    for (const [node, key] of handedOut) expect(key).toBe(saved[node]?.private);

    const again = await sb.run("boot", "keys", "-o", IMG);
    expect(again.code).toBe(0);
    expect(overlays().length).toBe(N);
    expect(store()).toEqual(saved);
    for (const f of overlays()) expect(overlayKey(f)).toBe(saved[f.replace(/\.cpio$/, "")]?.private as string);
    for (const [node, key] of handedOut) expect(overlayKey(`${node}.cpio`)).toBe(key as string);
  }, 120000);

  test("overlays (which hold the private host key) are 0640 root:www-data; site.webgroup picks the group", async () => {
    const f = join(overlayDir(), "k0001.cpio");
    const gid = (name: string) => Number(Bun.spawnSync(["getent", "group", name]).stdout.toString().split(":")[2]);
    expect(statSync(f).mode & 0o7777).toBe(0o640);
    expect(statSync(f).gid).toBe(gid("www-data"));
    expect((await sb.run("table", "set", "site", "key=webgroup", "value=nogroup")).code).toBe(0);
    expect((await sb.run("boot", "k0001", "-o", IMG)).code).toBe(0);
    expect(statSync(f).gid).toBe(gid("nogroup"));
    expect(statSync(f).mode & 0o7777).toBe(0o640);
    expect((await sb.run("table", "set", "site", "key=webgroup", "value=no-such-group")).code).toBe(0);
    const bad = await sb.run("boot", "k0001", "-o", IMG);
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain("Error: site.webgroup 'no-such-group' is not a group on this management node");
    expect(bad.stderr).toContain("hint: ");
    expect((await sb.run("table", "rm", "site", "key=webgroup")).code).toBe(0);
    // a local user who is not in the group cannot read it
    const nobody = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat", f]);
    expect(nobody.exitCode).not.toBe(0);
    expect(nobody.stderr.toString()).toContain("Permission denied");
  });
});
