import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sh, treeListing } from "../helpers/bundle-sites";
import { Sandbox } from "../helpers/sandbox";
import { type Entry, tarball, tgz } from "../helpers/tarball";

/**
 * Bundles from an untrusted source: each must be refused with a clear message and exit 65,
 * with nothing written — the site's files, its database and a directory outside it are
 * compared before and after every attempt.
 */
let sb: Sandbox;
let outside: string;
beforeAll(async () => {
  sb = new Sandbox("hostile");
  outside = mkdtempSync(join(tmpdir(), "xcimg-outside-"));
  writeFileSync(join(outside, "victim"), "untouched\n");
  mkdirSync(join(sb.installdir, ".xcimg")); // xcimg's own state directory (locks, staging)
  // a defined node, so -p has something to act on
  expect((await sb.run("node", "set", "cn1", "groups=compute")).code).toBe(0);
});
afterAll(() => {
  sb.cleanup();
  rmSync(outside, { recursive: true, force: true });
});

const IMG = "rhels8.5-x86_64-netboot-compute";
const DIR = "/install/netboot/rhels8.5/x86_64/compute";

function manifest(extra = "", paths: { kernel?: string } = {}): string {
  return [
    '<?xml version="1.0"?>',
    "<xcatimage>",
    extra,
    `  <kernel>${paths.kernel ?? `${DIR}/kernel`}</kernel>`,
    "  <linuximage>",
    `    <imagename>${IMG}</imagename>`,
    `    <rootimgdir>${DIR}</rootimgdir>`,
    "  </linuximage>",
    "  <osimage>",
    `    <imagename>${IMG}</imagename>`,
    "    <osarch>x86_64</osarch>",
    "    <osvers>rhels8.5</osvers>",
    "    <profile>compute</profile>",
    "    <provmethod>netboot</provmethod>",
    "  </osimage>",
    `  <ramdisk>${DIR}/initrd-stateless.gz</ramdisk>`,
    `  <rootimg>${DIR}/rootimg.cpio.gz</rootimg>`,
    "</xcatimage>",
    "",
  ]
    .filter((l) => l !== "")
    .join("\n");
}

function base(xml = manifest()): Entry[] {
  return [
    { name: "./", type: "dir" },
    { name: `./${IMG}/`, type: "dir" },
    { name: `./${IMG}/manifest.xml`, data: xml },
    { name: `./${IMG}/kernel`, data: "kernel" },
    { name: `./${IMG}/initrd-stateless.gz`, data: Buffer.from(Bun.gzipSync(Buffer.from("initrd"))) },
    { name: `./${IMG}/rootimg.cpio.gz`, data: Buffer.from(Bun.gzipSync(Buffer.from("cpio"))) },
  ];
}

function snapshot(): string {
  const site = treeListing(sb.dir, { xattrs: false })
    .split("\n")
    .filter((l) => !l.includes("/.xcimg") && !l.includes('"bundles') && !l.includes('"db'));
  return `${site.join("\n")}\n${treeListing(outside, { xattrs: false })}`;
}

async function tables(): Promise<string> {
  let out = "";
  for (const t of ["osimage", "linuximage", "litefile", "postscripts", "nodelist"]) out += (await sb.run("table", "dump", t)).stdout;
  return out;
}

let n = 0;
async function refused(bytes: Uint8Array, msg: RegExp | string, args: string[] = []): Promise<string> {
  mkdirSync(join(sb.dir, "bundles"), { recursive: true });
  const file = join(sb.dir, "bundles", `b${n++}.tgz`);
  writeFileSync(file, bytes);
  const before = snapshot();
  const db = await tables();
  const r = await sb.run("import", file, ...args);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(typeof msg === "string" ? new RegExp(msg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) : msg);
  expect(r.code).toBe(65);
  expect(snapshot()).toBe(before);
  expect(await tables()).toBe(db);
  expect(readFileSync(join(outside, "victim"), "utf8")).toBe("untouched\n");
  return r.stderr;
}

describe("hostile bundles are refused and change nothing", () => {
  test("the well-formed base bundle imports (so each refusal below is about its one defect)", async () => {
    const ok = new Sandbox("hostile-ok");
    try {
      const file = join(ok.dir, "ok.tgz");
      writeFileSync(file, tgz(base()));
      const r = await ok.run("import", file);
      expect(r.stderr).not.toContain("Error");
      expect(r.code).toBe(0);
      expect(readFileSync(join(ok.installdir, "netboot/rhels8.5/x86_64/compute/kernel"), "utf8")).toBe("kernel");
    } finally {
      ok.cleanup();
    }
  });

  test("path traversal with ..", async () => {
    await refused(tgz([...base(), { name: `./${IMG}/../../../${outside}/victim`, data: "owned" }]), "has a '..' path component");
    await refused(tgz([...base(), { name: "../evil", data: "owned" }]), "has a '..' path component");
  });

  test("absolute member names", async () => {
    await refused(tgz([...base(), { name: `${outside}/victim`, data: "owned" }]), "has an absolute path");
  });

  test("a symlink, then a file written through it", async () => {
    await refused(
      tgz([
        ...base(),
        { name: `./${IMG}/extra/`, type: "dir" },
        { name: `./${IMG}/extra/link`, type: "symlink", link: outside },
        { name: `./${IMG}/extra/link/victim`, data: "owned" },
      ]),
      `lies below '${IMG}/extra/link', which is a symlink`,
    );
    await refused(tgz([...base(), { name: `./${IMG}/boot`, type: "symlink", link: "/etc" }]), "symlinks are allowed only inside an image tree");
  });

  test("hard links that escape", async () => {
    await refused(
      tgz([...base(), { name: `./${IMG}/imagetree/`, type: "dir" }, { name: `./${IMG}/imagetree/passwd`, type: "hardlink", link: "/etc/passwd" }]),
      "has an absolute path",
    );
    await refused(
      tgz([...base(), { name: `./${IMG}/imagetree/`, type: "dir" }, { name: `./${IMG}/imagetree/k`, type: "hardlink", link: `./${IMG}/kernel` }]),
      "not an earlier file of the same image tree",
    );
    await refused(tgz([...base(), { name: `./${IMG}/k2`, type: "hardlink", link: `./${IMG}/kernel` }]), "hard links are allowed only inside an image tree");
  });

  test("device nodes and FIFOs outside an image tree", async () => {
    await refused(tgz([...base(), { name: `./${IMG}/sda`, type: "block" }]), "device nodes and FIFOs are allowed only inside an image tree");
    await refused(
      tgz([...base(), { name: `./${IMG}/extra/`, type: "dir" }, { name: `./${IMG}/extra/mem`, type: "char" }]),
      "device nodes and FIFOs are allowed only inside an image tree",
    );
    await refused(tgz([...base(), { name: `./${IMG}/fifo`, type: "fifo" }]), "FIFO");
  });

  test("a DTD / entity bomb in manifest.xml", async () => {
    const bomb = `<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n<xcatimage><osimage><imagename>&lol1;</imagename></osimage></xcatimage>\n`;
    const err = await refused(tgz(base(bomb)), "invalid manifest.xml file inside the bundle.  Please verify the XML");
    expect(err).toContain("DOCTYPE");
    await refused(tgz(base('<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><xcatimage/>')), "DOCTYPE");
  });

  test("destinations outside installdir", async () => {
    const err = await refused(tgz(base(manifest("", { kernel: `${outside}/victim` }))), `outside installdir ${sb.installdir}`);
    expect(err).toContain("--allow-dest");
    const extra = `  <extra>\n    <dest>${outside}</dest>\n    <src>/tmp/victim</src>\n  </extra>`;
    await refused(
      tgz([...base(manifest(extra)), { name: `./${IMG}/extra/`, type: "dir" }, { name: `./${IMG}/extra/victim`, data: "owned" }]),
      "outside installdir",
    );
    await refused(tgz(base(manifest("", { kernel: "/install/../etc/cron.d/evil" }))), "has a '..' component");
  });

  test("--allow-dest lets an extra land outside installdir, nowhere else", async () => {
    const extra = `  <extra>\n    <dest>${outside}/drop</dest>\n    <src>/tmp/site.conf</src>\n  </extra>`;
    const bundle = tgz([...base(manifest(extra)), { name: `./${IMG}/extra/`, type: "dir" }, { name: `./${IMG}/extra/site.conf`, data: "conf" }]);
    await refused(bundle, "outside installdir", ["--allow-dest", `${outside}/elsewhere`]);
    const ok = new Sandbox("hostile-allow");
    try {
      const file = join(ok.dir, "ok.tgz");
      writeFileSync(file, bundle);
      const r = await ok.run("import", file, "--allow-dest", `${outside}/drop`);
      expect(r.code).toBe(0);
      expect(readFileSync(join(outside, "drop", "site.conf"), "utf8")).toBe("conf");
    } finally {
      ok.cleanup();
      rmSync(join(outside, "drop"), { recursive: true, force: true });
    }
  });

  test("checksum mismatch and unlisted files", async () => {
    const good = (s: string | Uint8Array) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
    const entries = base();
    const data = (i: number) => entries[i]?.data as string | Uint8Array;
    const sums = (kernelHash: string) =>
      [`${good(data(4))}  initrd-stateless.gz`, `${kernelHash}  kernel`, `${good(data(2))}  manifest.xml`, `${good(data(5))}  rootimg.cpio.gz`, ""].join("\n");
    await refused(tgz([...entries, { name: `./${IMG}/xcimg.sha256`, data: sums(good("tampered")) }]), `checksum mismatch for ${IMG}/kernel`);
    await refused(
      tgz([...entries, { name: `./${IMG}/added`, data: "x" }, { name: `./${IMG}/xcimg.sha256`, data: sums(good("kernel")) }]),
      `${IMG}/added is not listed in ${IMG}/xcimg.sha256`,
    );
  });

  test("truncated, not gzip, not a tar, no end marker", async () => {
    const whole = tgz(base());
    await refused(whole.subarray(0, Math.floor(whole.length / 2)), "is truncated");
    await refused(Buffer.from("just some text\n"), "is not a gzip-compressed bundle");
    const plain = await refused(tarball(base()), "is not a gzip-compressed bundle");
    expect(plain).toContain("uncompressed tar");
    await refused(Bun.gzipSync(Buffer.from("x".repeat(5000))), /header checksum mismatch|not a tar/);
    await refused(tgz(base(), { end: false }), "truncated (no end-of-archive marker)");
  });

  test("oversized manifest", async () => {
    await refused(tgz(base(`${manifest()}<!-- ${"x".repeat(1.1 * 2 ** 20)} -->`)), "more than the 1048576 allowed for manifest.xml");
  });

  test("duplicate members", async () => {
    await refused(tgz([...base(), { name: `./${IMG}/kernel`, data: "second" }]), `'${IMG}/kernel' appears twice`);
    await refused(tgz([...base(), { name: `${IMG}/kernel`, data: "second" }]), "appears twice");
  });

  test("a statelite rootimgtree.gz that escapes (vetted before cpio runs)", async () => {
    const work = mkdtempSync(join(tmpdir(), "xcimg-cpio-"));
    try {
      mkdirSync(join(work, "rootimg"));
      sh(["ln", "-s", outside, join(work, "rootimg", "etc")]);
      mkdirSync(join(work, "x"));
      writeFileSync(join(work, "x", "victim"), "owned");
      // rootimg/etc -> <outside>, then rootimg/etc/victim written through it
      const list = "rootimg\nrootimg/etc\n";
      const first = sh(["sh", "-c", `printf '${list}' | cpio -H newc -o --quiet | base64 -w0`], work);
      const second = sh(
        [
          "sh",
          "-c",
          "cd x && mkdir -p ../y/rootimg/etc && cp victim ../y/rootimg/etc/ && cd ../y && printf 'rootimg/etc/victim\\n' | cpio -H newc -o --quiet | base64 -w0",
        ],
        work,
      );
      // concatenate without the first archive's trailer: one cpio stream with both entries
      const a = Buffer.from(first, "base64");
      const trailer = a.indexOf("TRAILER!!!") - 110;
      const cpio = Buffer.concat([a.subarray(0, trailer), Buffer.from(second, "base64")]);
      const S = "sles15-x86_64-statelite-compute";
      const D = "/install/netboot/sles15/x86_64/compute";
      const xml = [
        '<?xml version="1.0"?>',
        "<xcatimage>",
        `  <kernel>${D}/kernel</kernel>`,
        `  <linuximage>\n    <imagename>${S}</imagename>\n    <rootimgdir>${D}</rootimgdir>\n  </linuximage>`,
        `  <litefile>${D}/litefile.csv</litefile>`,
        `  <osimage>\n    <imagename>${S}</imagename>\n    <osarch>x86_64</osarch>\n    <osvers>sles15</osvers>\n    <profile>compute</profile>\n    <provmethod>statelite</provmethod>\n  </osimage>`,
        `  <ramdisk>${D}/initrd-statelite.gz</ramdisk>`,
        `  <rootimgtree>${D}/rootimgtree.gz</rootimgtree>`,
        "</xcatimage>",
        "",
      ].join("\n");
      const bundle = tgz([
        { name: "./", type: "dir" },
        { name: `./${S}/`, type: "dir" },
        { name: `./${S}/manifest.xml`, data: xml },
        { name: `./${S}/kernel`, data: "k" },
        { name: `./${S}/initrd-statelite.gz`, data: Buffer.from(Bun.gzipSync(Buffer.from("i"))) },
        { name: `./${S}/litefile.csv`, data: `"${S}","/etc/ssh/","persistent",,\n` },
        { name: `./${S}/rootimgtree.gz`, data: Buffer.from(Bun.gzipSync(cpio)) },
      ]);
      await refused(bundle, "rootimgtree.gz: entry 'rootimg/etc/victim' lies below 'rootimg/etc', which is a symlink");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
