import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeNetboot, type SiteImage } from "../helpers/bundle-sites";
import { BIN, Sandbox } from "../helpers/sandbox";
import { type Agent, type Keys, makeKeys, sshKeygenSign, sshKeygenVerify, startAgent } from "../helpers/signing-keys";

/**
 * Image signatures through the compiled binary, checked both ways against the real
 * ssh-keygen with one allowed_signers file: what xcimg signs `ssh-keygen -Y verify` accepts,
 * what `ssh-keygen -Y sign` signs xcimg accepts; ed25519 and RSA keys, files and ssh-agent.
 */
let sb: Sandbox;
let keys: Keys;
let img: SiteImage;
let manifest: string;
let agent: Agent;

beforeAll(async () => {
  if (!Bun.file(BIN).size) throw new Error("build dist/xcimg first (bun scripts/build.ts --host)");
  sb = new Sandbox("signing");
  keys = makeKeys(join(sb.dir, "keys"));
  writeFileSync(sb.config, `${readFileSync(sb.config, "utf8")}[trust]\nallowed_signers = "${keys.allowedSigners}"\nrequire = "signed"\n`);
  img = await makeNetboot(sb);
  manifest = join(img.dir, "xcimg-manifest.json");
  agent = await startAgent(sb.dir, [keys.bob]);
});
afterAll(() => {
  agent?.stop();
  sb.cleanup();
});

const noAgent = { SSH_AUTH_SOCK: undefined };

async function verify(): Promise<{ code: number; stdout: string; stderr: string }> {
  return sb.bin(["image", "verify", img.name], { env: noAgent });
}

describe("signatures interoperate with ssh-keygen -Y", () => {
  test("xcimg signs with an ed25519 key file; ssh-keygen -Y verify accepts it, and so does image verify", async () => {
    const r = await sb.bin(["image", "sign", img.name, "--key", keys.alice], { env: noAgent });
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${manifest}.sig`);
    expect(readFileSync(`${manifest}.sig`, "utf8")).toStartWith("-----BEGIN SSH SIGNATURE-----\n");
    const k = sshKeygenVerify(keys, "alice@site", manifest);
    expect(k.out).toContain('Good "xcimg-image" signature for alice@site with ED25519 key');
    expect(k.code).toBe(0);
    const v = await verify();
    expect(v.code).toBe(0);
    expect(v.stdout).toContain("signed by alice@site (ED25519 SHA256:");
    expect(v.stdout).toContain("ok: kernel");
  });

  test("xcimg signs with an RSA key held by ssh-agent (no --key); ssh-keygen accepts it for each of bob's principals", async () => {
    const r = await sb.bin(["image", "sign", img.name], { env: { SSH_AUTH_SOCK: agent.sock } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("(ssh-agent)");
    for (const p of ["bob@site", "backup@site"]) expect(sshKeygenVerify(keys, p, manifest).code).toBe(0);
    expect(sshKeygenVerify(keys, "alice@site", manifest).code).not.toBe(0); // the principal must match the key
    const v = await verify();
    expect(v.stdout).toContain("signed by bob@site,backup@site (RSA SHA256:");
  });

  test("--key <file>.pub selects the agent's key; a .pub without an agent is refused", async () => {
    const r = await sb.bin(["image", "sign", img.name, "--key", `${keys.bob}.pub`], { env: { SSH_AUTH_SOCK: agent.sock } });
    expect(r.code).toBe(0);
    expect(sshKeygenVerify(keys, "bob@site", manifest).code).toBe(0);
    const alice = await sb.bin(["image", "sign", img.name, "--key", `${keys.alice}.pub`], { env: { SSH_AUTH_SOCK: agent.sock } });
    expect(alice.stderr).toContain("Error: the ssh-agent does not hold the key given with --key");
    expect(alice.code).toBe(64);
    const none = await sb.bin(["image", "sign", img.name, "--key", `${keys.bob}.pub`], { env: noAgent });
    expect(none.stderr).toContain("is a public key and no ssh-agent is running");
    expect(none.code).toBe(64);
  });

  for (const who of ["alice", "bob"] as const) {
    test(`xcimg verifies a signature made by ssh-keygen -Y sign with ${who}'s ${who === "alice" ? "ed25519" : "RSA"} key`, async () => {
      sshKeygenSign(keys[who], manifest);
      const v = await verify();
      expect(v.stderr).not.toContain("Error");
      expect(v.code).toBe(0);
      expect(v.stdout).toContain(`signed by ${who}@site`);
    });
  }

  test("a signature in another namespace is refused by both", async () => {
    sshKeygenSign(keys.alice, manifest, "file");
    expect(sshKeygenVerify(keys, "alice@site", manifest).code).not.toBe(0);
    const v = await verify();
    expect(v.stderr).toContain("is for namespace 'file', not 'xcimg-image'");
    expect(v.code).toBe(65);
  });
});

describe("image verify refuses what it cannot trust", () => {
  test("an unknown signer (mallory, in no allowed_signers) is refused with 77 and her key named", async () => {
    sshKeygenSign(keys.mallory, manifest);
    const v = await verify();
    expect(v.stderr).toMatch(/Error: the manifest of image \S+ is signed by ED25519 SHA256:\S+, which is not in .*allowed_signers for namespace xcimg-image/);
    expect(v.stderr).toContain("hint:");
    expect(v.code).toBe(77);
  });

  test("an unsigned manifest is refused with 77 under require = signed", async () => {
    Bun.spawnSync(["rm", "-f", `${manifest}.sig`]);
    const v = await verify();
    expect(v.stderr).toContain('is not signed, and [trust] require = "signed" accepts only signed images');
    expect(v.code).toBe(77);
  });

  test("an edited manifest no longer matches its signature (65)", async () => {
    expect((await sb.bin(["image", "sign", img.name, "--key", keys.alice], { env: noAgent })).code).toBe(0);
    const text = readFileSync(manifest, "utf8");
    writeFileSync(manifest, text.replace('"how": "unknown"', '"how": "capture", "node": "trusted", "at": "2026-01-01"'));
    const v = await verify();
    expect(v.stderr).toMatch(/Error: the signature of the manifest of image \S+ does not match it: it was changed after ED25519 SHA256:\S+ signed it/);
    expect(v.code).toBe(65);
    writeFileSync(manifest, text);
    expect((await verify()).code).toBe(0);
  });

  test("a changed byte of the kernel, a changed file or a file capability in the root tree is named with the signer (65)", async () => {
    const kernel = join(img.dir, "kernel");
    const orig = readFileSync(kernel);
    const bad = Buffer.from(orig);
    bad[1000] = (bad[1000] as number) ^ 1;
    writeFileSync(kernel, bad);
    let v = await verify();
    expect(v.stderr).toMatch(/Error: image \S+ differs from its manifest \(signed by alice@site \(ED25519 SHA256:\S+\)\):\n {2}changed: kernel \(sha256:/);
    expect(v.code).toBe(65);
    writeFileSync(kernel, orig);
    const hostname = join(img.dir, "rootimg/etc/hostname");
    const before = readFileSync(hostname);
    appendFileSync(hostname, "x");
    v = await verify();
    expect(v.stderr).toContain("changed: root tree rootimg");
    expect(v.code).toBe(65);
    writeFileSync(hostname, before);
    expect((await verify()).code).toBe(0);
    // a file capability is invisible to sha256sum but not to the tree digest
    Bun.spawnSync(["setcap", "cap_sys_admin+ep", join(img.dir, "rootimg/usr/bin/tool")]);
    v = await verify();
    expect(v.stderr).toContain("changed: root tree rootimg");
    expect(v.code).toBe(65);
  });
});
