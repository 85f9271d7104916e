import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineNetbootImage, fakeKernels } from "../helpers/images";
import { BIN, Sandbox } from "../helpers/sandbox";
import { type Keys, makeKeys } from "../helpers/signing-keys";
import { Sshd } from "../helpers/sshd";

/**
 * `sn sync` judges what it pulls with the SN's own [trust] policy (issue #20): with
 * require = "signed", an image whose manifest is unsigned, signed by a key not in the SN's
 * allowed_signers, or changed after signing is not switched in, and the SN keeps serving what
 * it had; a manifest signed by a trusted key is accepted. The MN is a sandbox behind a real
 * sshd running its own compiled xcimg; the SN is another sandbox (as in sn-sync.test.ts).
 */
const A = "snt-x86_64-netboot-compute";
let mn: Sandbox;
let sn: Sandbox;
let sshd: Sshd;
let keys: Keys;
let tree: string;
const noAgent = { SSH_AUTH_SOCK: undefined };
const sha = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");
const mnDir = () => join(mn.installdir, "netboot", "snt", "x86_64", "compute");
const snDir = () => join(sn.installdir, "netboot", "snt", "x86_64", "compute");

async function ok(sb: Sandbox, ...argv: string[]) {
  const r = await sb.bin(argv, { env: noAgent });
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r;
}
const sync = () => sn.bin(["sn", "sync"], { env: noAgent });

beforeAll(async () => {
  expect(existsSync(BIN)).toBe(true);
  mn = new Sandbox("snt-mn");
  keys = makeKeys(join(mn.dir, "keys"));
  const a = await defineNetbootImage(mn, A, [], "snt");
  tree = a.rootimg;
  fakeKernels(tree);
  await ok(mn, "pack", A);
  await ok(mn, "node", "set", "cn01", "groups=compute,all", "mac=52:54:00:ab:00:01", "netboot=xnba", "servicenode=sn1", "xcatmaster=sn1");
  await ok(mn, "boot", "cn01", "-o", A);
  sshd = await Sshd.start({ config: [`SetEnv XCIMG_CONFIG=${mn.config}`] });
  sn = new Sandbox("snt-sn");
  const toml = [
    `[ssh]`,
    `identity = "${sshd.clientKey}"`,
    `[sn]`,
    `mn = "127.0.0.1"`,
    `mn_port = ${sshd.port}`,
    `known_hosts = "${sshd.knownHosts}"`,
    `name = "sn1"`,
    `remote_xcimg = "${BIN}"`,
    `[trust]`,
    `require = "signed"`,
    `allowed_signers = "${keys.allowedSigners}"`,
  ].join("\n");
  writeFileSync(sn.config, `${readFileSync(sn.config, "utf8")}\n${toml}\n`);
}, 120000);

afterAll(async () => {
  await sshd?.stop();
  mn?.cleanup();
  sn?.cleanup();
});

describe('sn sync with [trust] require = "signed" on the SN', () => {
  test("an unsigned image is not switched in; the sync says why and exits 1", async () => {
    const r = await sync();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the manifest of image ${A} from the management node is not signed`);
    expect(existsSync(join(snDir(), "rootimg.cpio.gz"))).toBe(false);
  }, 60000);

  test("signed by a key the SN trusts: accepted, byte for byte", async () => {
    await ok(mn, "image", "sign", A, "--key", keys.alice);
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(sha(join(snDir(), "rootimg.cpio.gz"))).toBe(sha(join(mnDir(), "rootimg.cpio.gz")));
    expect(existsSync(join(snDir(), "xcimg-manifest.json.sig"))).toBe(true);
  }, 60000);

  test("re-signed by an unknown key after a re-pack: refused, the SN keeps serving the image alice signed", async () => {
    const served = sha(join(snDir(), "rootimg.cpio.gz"));
    writeFileSync(join(tree, "etc-motd"), "mallory was here\n");
    await ok(mn, "pack", A);
    await ok(mn, "image", "sign", A, "--key", keys.mallory);
    const r = await sync();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("which is not in");
    expect(sha(join(snDir(), "rootimg.cpio.gz"))).toBe(served);
  }, 60000);

  test("a manifest changed after it was signed: refused as altered, nothing switched", async () => {
    await ok(mn, "image", "sign", A, "--key", keys.alice);
    const served = sha(join(snDir(), "rootimg.cpio.gz"));
    const mf = join(mnDir(), "xcimg-manifest.json");
    writeFileSync(mf, `${readFileSync(mf, "utf8").trimEnd()}\n\n`);
    const r = await sync();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("does not match it: it was changed after");
    expect(sha(join(snDir(), "rootimg.cpio.gz"))).toBe(served);
  }, 60000);
});
