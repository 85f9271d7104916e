import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeNetboot, makeSysclone, type SiteImage, sh, treeListing } from "../helpers/bundle-sites";
import { BIN, Sandbox } from "../helpers/sandbox";
import { type Keys, makeKeys, sshKeygenSign, sshKeygenVerify } from "../helpers/signing-keys";

/**
 * Signed bundles end to end through the compiled binary: exported signed at site A, imported
 * into a fresh site B that requires signatures. Every tampering an attacker who can rewrite
 * the bundle (and its xcimg.sha256) could try is refused before anything is written: site B's
 * files, its tables and a directory outside it are compared before and after, as in
 * bundle-hostile.test.ts.
 */
let a: Sandbox;
let b: Sandbox;
let keys: Keys;
let img: SiteImage;
let work: string;
let outside: string;
let signed: string;

const trust = (mode: string) => `[trust]\nallowed_signers = "${keys.allowedSigners}"\nrequire = "${mode}"\n`;
const noAgent = { SSH_AUTH_SOCK: undefined };

beforeAll(async () => {
  if (!Bun.file(BIN).size) throw new Error("build dist/xcimg first (bun scripts/build.ts --host)");
  work = mkdtempSync(join(tmpdir(), "xcimg-signedbundle-"));
  keys = makeKeys(join(work, "keys"));
  a = new Sandbox("signed-a");
  b = new Sandbox("signed-b", trust("signed"));
  outside = join(work, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "victim"), "untouched\n");
  img = await makeNetboot(a);
  signed = join(work, "signed.tgz");
  const r = await a.bin(["export", img.name, signed, "--sign", "--key", keys.alice], { env: noAgent });
  if (r.code !== 0) throw new Error(`export --sign: ${r.stderr}`);
});
afterAll(() => {
  a.cleanup();
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const XATTRS = ["--xattrs", "--xattrs-include=*", "--acls"];

/**
 * Unpack a bundle as root would (xattrs, ACLs, owners kept), let `change` edit it, re-tar it
 * as export does (pax, numeric owners) with a matching xcimg.sha256 — what an attacker who can
 * rewrite the bundle would do.
 */
function rewrite(name: string, change: (imgDir: string) => void, from = signed, image = img.name): string {
  const dir = join(work, `x-${name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  sh(["tar", ...XATTRS, "-xzf", from, "-C", dir]);
  const imgDir = join(dir, image);
  change(imgDir);
  // the checksum file is optional: rewrite it for flat bundles, drop it for image trees (whose
  // hard links decide which names tar stores as files)
  if (existsSync(join(imgDir, "imagetree"))) rmSync(join(imgDir, "xcimg.sha256"));
  else sh(["sh", "-c", "find . -type f ! -name xcimg.sha256 -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum > xcimg.sha256"], imgDir);
  const out = join(work, `${name}.tgz`);
  sh(["tar", "--format=posix", ...XATTRS, "--numeric-owner", "-czf", out, "-C", dir, "."]);
  return out;
}

function snapshot(site: Sandbox): string {
  const files = treeListing(site.dir, { xattrs: false })
    .split("\n")
    .filter((l) => !l.includes("/.xcimg") && !l.includes('"db'));
  return `${files.join("\n")}\n${treeListing(outside, { xattrs: false })}`;
}

async function tables(site: Sandbox): Promise<string> {
  let out = "";
  for (const t of ["osimage", "linuximage", "litefile", "postscripts"]) out += (await site.bin(["table", "dump", t])).stdout;
  return out;
}

async function refused(bundle: string, code: number, msg: RegExp): Promise<string> {
  const before = snapshot(b);
  const db = await tables(b);
  const r = await b.bin(["import", bundle], { env: noAgent });
  if (process.env.SHOW_REFUSALS) console.log(r.stderr);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(msg);
  expect(r.stderr).toContain("hint:");
  expect(r.code).toBe(code);
  expect(snapshot(b)).toBe(before);
  expect(await tables(b)).toBe(db);
  expect(readFileSync(join(outside, "victim"), "utf8")).toBe("untouched\n");
  return r.stderr;
}

const SIGNER = /alice@site \(ED25519 SHA256:[A-Za-z0-9+/]+\)/.source;

describe("signed bundles", () => {
  test("the signed bundle carries its manifest and signature inside the image directory, and nothing else changes for xCAT", async () => {
    const list = sh(["tar", "tzf", signed]).split("\n");
    expect(list).toContain(`./${img.name}/xcimg-manifest.json`);
    expect(list).toContain(`./${img.name}/xcimg-manifest.json.sig`);
    // imgimport globs <tmp>/* for image directories: the top level must hold only the image
    expect(list.filter((n) => /^\.\/[^/]+\/?$/.test(n))).toEqual([`./${img.name}/`]);
    const plain = join(work, "plain.tgz");
    expect((await a.bin(["export", img.name, plain])).code).toBe(0);
    const xml = (f: string) => sh(["tar", "xzOf", f, `./${img.name}/manifest.xml`]);
    expect(xml(signed)).toBe(xml(plain));
    // the signature is ssh-keygen's format: it verifies the manifest as extracted
    const x = join(work, "x-check");
    mkdirSync(x);
    sh(["tar", "xzf", signed, "-C", x]);
    expect(sshKeygenVerify(keys, "alice@site", join(x, img.name, "xcimg-manifest.json")).code).toBe(0);
  });

  test("a fresh site that requires signatures imports it, keeps the signed manifest, and image verify names the signer", async () => {
    const site = new Sandbox("signed-ok", trust("signed"));
    try {
      const r = await site.bin(["import", signed], { env: noAgent });
      expect(r.stderr).not.toContain("Error");
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`signature by ${SIGNER} verified; every member matches`));
      const m = join(site.installdir, "netboot/rhels8.5/x86_64/compute/xcimg-manifest.json");
      expect(sshKeygenVerify(keys, "alice@site", m).code).toBe(0);
      const v = await site.bin(["image", "verify", img.name], { env: noAgent });
      expect(v.code).toBe(0);
      expect(v.stdout).toMatch(new RegExp(`signed by ${SIGNER}`));
      expect(v.stdout).toContain("note: the root tree rootimg is not on this management node");
    } finally {
      site.cleanup();
    }
  });

  test("imported under a new profile (-f), the image gets its own manifest recording the bundle, its signer and the origin it claimed", async () => {
    const site = new Sandbox("signed-rename", trust("signed"));
    try {
      const r = await site.bin(["import", signed, "-f", "compute2"], { env: noAgent });
      expect(r.stderr).not.toContain("Error");
      expect(r.code).toBe(0);
      const dir = join(site.installdir, "netboot/rhels8.5/x86_64/compute2");
      const m = JSON.parse(readFileSync(join(dir, "xcimg-manifest.json"), "utf8"));
      expect(m.identity.name).toBe("rhels8.5-x86_64-netboot-compute2");
      expect(m.origin).toMatchObject({ how: "import", bundle: signed, signer: "alice@site", upstream: { how: "unknown" } });
      expect(m.origin.key).toMatch(/^ED25519 SHA256:/);
      expect(existsSync(join(dir, "xcimg-manifest.json.sig"))).toBe(false);
      // the site vouches for its renamed copy by signing it itself
      const v = await site.bin(["image", "verify", "rhels8.5-x86_64-netboot-compute2"], { env: noAgent });
      expect(v.code).toBe(77);
      expect((await site.bin(["image", "sign", "rhels8.5-x86_64-netboot-compute2", "--key", keys.bob], { env: noAgent })).code).toBe(0);
      expect((await site.bin(["image", "verify", "rhels8.5-x86_64-netboot-compute2"], { env: noAgent })).code).toBe(0);
    } finally {
      site.cleanup();
    }
  });

  test("re-tarring without changing anything still imports (so each refusal below is about its tampering)", async () => {
    const site = new Sandbox("signed-retar", trust("signed"));
    try {
      const r = await site.bin(["import", rewrite("same", () => {})], { env: noAgent });
      expect(r.stderr).not.toContain("Error");
      expect(r.code).toBe(0);
    } finally {
      site.cleanup();
    }
  });

  test("a changed byte of the root image is refused, naming the signer and the member", async () => {
    const bundle = rewrite("byte", (d) => {
      const f = join(d, "rootimg.cpio.gz");
      const data = readFileSync(f);
      data[100] = (data[100] as number) ^ 0xff;
      writeFileSync(f, data);
    });
    await refused(bundle, 65, new RegExp(`differs from what ${SIGNER} signed:\\n {2}changed: ${img.name}/rootimg.cpio.gz \\(sha256 `));
  });

  test("an added member is refused", async () => {
    const bundle = rewrite("added", (d) => writeFileSync(join(d, "evil.sh"), "#!/bin/sh\n"));
    await refused(bundle, 65, new RegExp(`differs from what ${SIGNER} signed:\\n {2}added: ${img.name}/evil.sh`));
  });

  test("an edited manifest.xml is refused", async () => {
    const bundle = rewrite("xml", (d) => {
      const f = join(d, "manifest.xml");
      writeFileSync(f, readFileSync(f, "utf8").replace("<netdrivers>", "<postscripts>evil</postscripts><netdrivers>"));
    });
    await refused(bundle, 65, new RegExp(`changed: ${img.name}/manifest.xml \\(size \\d+ → \\d+, sha256 `));
  });

  test("an edited xcimg-manifest.json no longer matches its signature", async () => {
    const bundle = rewrite("manifest", (d) => appendFileSync(join(d, "xcimg-manifest.json"), " "));
    await refused(bundle, 65, /the signature of bundle image \S+ does not match it: it was changed after ED25519 SHA256:\S+ signed it/);
  });

  test("a bundle re-signed by an unknown key (mallory) is refused with 77, naming her key", async () => {
    const bundle = rewrite("mallory", (d) => {
      writeFileSync(join(d, "evil.sh"), "#!/bin/sh\n");
      const f = join(d, "xcimg-manifest.json");
      const m = JSON.parse(readFileSync(f, "utf8"));
      m.bundle.members.push({
        name: `${img.name}/evil.sh`,
        type: "file",
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 10,
        sha256: sh(["sha256sum", join(d, "evil.sh")]).slice(0, 64),
      });
      writeFileSync(f, `${JSON.stringify(m, null, 2)}\n`);
      sshKeygenSign(keys.mallory, f);
    });
    await refused(bundle, 77, /is signed by ED25519 SHA256:\S+, which is not in \S+allowed_signers for namespace xcimg-image/);
  });

  test("an unsigned bundle (signature, or manifest and signature, removed) is refused with 77", async () => {
    await refused(
      rewrite("nosig", (d) => rmSync(join(d, "xcimg-manifest.json.sig"))),
      77,
      /bundle image \S+ is not signed, and \[trust\] require = "signed" accepts only signed images/,
    );
    await refused(
      rewrite("nomanifest", (d) => {
        rmSync(join(d, "xcimg-manifest.json.sig"));
        rmSync(join(d, "xcimg-manifest.json"));
      }),
      77,
      /is not signed/,
    );
  });

  test("under require = warn an unsigned bundle imports with a warning, and a tampered signed one is still refused", async () => {
    const site = new Sandbox("signed-warn", trust("warn"));
    try {
      const tampered = rewrite("warn-added", (d) => writeFileSync(join(d, "evil.sh"), "x"));
      const t = await site.bin(["import", tampered], { env: noAgent });
      expect(t.stderr).toContain("added:");
      expect(t.code).toBe(65);
      expect(readdirSync(site.installdir)).not.toContain("netboot");
      const plain = join(work, "plain-warn.tgz");
      expect((await a.bin(["export", img.name, plain])).code).toBe(0);
      const r = await site.bin(["import", plain], { env: noAgent });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("is not signed (set [trust] require");
    } finally {
      site.cleanup();
    }
  });
});

describe("signed sysclone bundles (image trees with xattrs, devices, hard links)", () => {
  let sysclone: string;
  let tree: SiteImage;
  beforeAll(async () => {
    tree = await makeSysclone(a);
    sysclone = join(work, "sysclone.tgz");
    const r = await a.bin(["export", tree.name, sysclone, "--sign", "--key", keys.bob], { env: noAgent });
    if (r.code !== 0) throw new Error(`export --sign: ${r.stderr}`);
  });

  test("imports into a site that requires signatures, re-tarred or not", async () => {
    for (const bundle of [sysclone, rewrite("sys-same", () => {}, sysclone, tree.name)]) {
      const site = new Sandbox("signed-sys", trust("signed"));
      try {
        const r = await site.bin(["import", bundle], { env: noAgent });
        expect(r.stderr).not.toContain("Error");
        expect(r.code).toBe(0);
      } finally {
        site.cleanup();
      }
    }
  });

  test("a file capability added to a binary of the tree is refused", async () => {
    const bundle = rewrite("sys-cap", (d) => sh(["setcap", "cap_sys_admin+ep", join(d, "imagetree/usr/bin/su")]), sysclone, tree.name);
    await refused(
      bundle,
      65,
      new RegExp(`differs from what bob@site,backup@site \\(RSA SHA256:\\S+\\) signed:\\n {2}changed: ${tree.name}/imagetree/usr/bin/su \\(attrs none → `),
    );
  });

  test("a device node pointed at another device is refused", async () => {
    const bundle = rewrite(
      "sys-dev",
      (d) => {
        rmSync(join(d, "imagetree/dev/console"));
        sh(["mknod", "-m", "600", join(d, "imagetree/dev/console"), "c", "8", "0"]);
      },
      sysclone,
      tree.name,
    );
    await refused(bundle, 65, new RegExp(`changed: ${tree.name}/imagetree/dev/console \\(dev 5,1 → 8,0\\)`));
  });

  test("a hard link retargeted inside the tree is refused", async () => {
    const bundle = rewrite(
      "sys-link",
      (d) => {
        rmSync(join(d, "imagetree/usr/bin/tool-hard"));
        linkSync(join(d, "imagetree/usr/bin/su"), join(d, "imagetree/usr/bin/tool-hard"));
      },
      sysclone,
      tree.name,
    );
    await refused(bundle, 65, /changed: \S+\/imagetree\/usr\/bin\/(su|tool|tool-hard) /);
  });
});
