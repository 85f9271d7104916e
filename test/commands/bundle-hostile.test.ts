import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sh, treeListing } from "../helpers/bundle-sites";
import { goldenGpt } from "../helpers/clone-layouts";
import { BIN, Sandbox } from "../helpers/sandbox";
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

  test("a sysclone bundle's capture record: only a checked one is kept, a bad one refuses the bundle", async () => {
    const G = "gold-sysclone";
    const xml = [
      '<?xml version="1.0"?>',
      "<xcatimage>",
      `  <imagetree>/install/sysclone/images/${G}</imagetree>`,
      `  <linuximage><imagename>${G}</imagename></linuximage>`,
      `  <osimage><imagename>${G}</imagename><osarch>x86_64</osarch><osvers>deb12</osvers><profile>compute</profile><provmethod>sysclone</provmethod></osimage>`,
      "</xcatimage>",
      "",
    ].join("\n");
    const bundle = (capture: string | Uint8Array) =>
      tgz([
        { name: "./", type: "dir" },
        { name: `./${G}/`, type: "dir" },
        { name: `./${G}/manifest.xml`, data: xml },
        { name: `./${G}/imagetree/`, type: "dir" },
        { name: `./${G}/imagetree/etc/`, type: "dir" },
        { name: `./${G}/imagetree/etc/hostname`, data: "golden\n" },
        { name: `./${G}/xcimg-capture.json`, data: capture },
      ]);
    const { layout } = goldenGpt();
    const good = new Sandbox("hostile-capture-ok");
    try {
      const file = join(good.dir, "ok.tgz");
      writeFileSync(file, bundle(JSON.stringify({ node: "golden", finished: "2026-01-01T00:00:00Z", files: 3, disk_layout: layout })));
      const r = await good.run("import", file);
      expect(r.code, r.stderr).toBe(0);
      // the record is the image's: clone plans the golden node's disk from it (and asks for its tools)
      expect((await good.run("node", "set", "cn1", "groups=all", "mac=52:54:00:00:00:01")).code).toBe(0);
      const c = await good.run("clone", "cn1", "-o", G, "--dry-run");
      expect(c.stderr).not.toContain("no recorded disk layout");
      expect(c.stderr).toContain("the image cannot clone itself onto a disk");
    } finally {
      good.cleanup();
    }
    await refused(bundle("{ not json"), "xcimg-capture.json is not JSON");
    await refused(bundle("[1, 2]"), "xcimg-capture.json is not a JSON object");
    await refused(bundle(JSON.stringify({ imagename: "other-image" })), "xcimg-capture.json: unknown field 'imagename'");
    await refused(bundle(JSON.stringify({ tree: "/etc" })), "xcimg-capture.json: unknown field 'tree'");
    await refused(bundle(JSON.stringify({ files: "many" })), "xcimg-capture.json: 'files' must be a number");
    await refused(bundle(JSON.stringify({ node: 42 })), "xcimg-capture.json: 'node' must be a string");
    await refused(bundle(JSON.stringify({ disk_layout: { lsblk: "no" } })), `the bundle's disk layout of ${G} cannot be cloned`);
    await refused(bundle(Buffer.alloc((4 << 20) + 1, 0x20)), "more than the 4194304 allowed for xcimg-capture.json");
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

/**
 * Issue #12, bundle side: each attack is built here and imported through the compiled binary,
 * as an admin would run it. A victim directory outside the site must be unchanged, the command
 * must fail with `Error:` + `hint:` and the documented exit code, and the site — its files,
 * `image list` and the table dumps — must be as it was, with no staging tree left behind.
 */
function extraXml(src: string, dest: string): string {
  return `  <extra>\n    <dest>${dest}</dest>\n    <src>${src}</src>\n  </extra>`;
}

function dirs(...names: string[]): Entry[] {
  return names.map((name) => ({ name: `./${IMG}/${name}/`, type: "dir" as const }));
}

async function siteState(site: Sandbox = sb): Promise<string> {
  const list = await site.bin(["image", "list"]);
  let dumps = "";
  for (const t of ["osimage", "linuximage", "litefile", "postscripts", "nodelist"]) dumps += (await site.bin(["table", "dump", t])).stdout;
  return `${list.code} ${list.stdout}\n${dumps}`;
}

function leftovers(site: Sandbox = sb): string[] {
  try {
    return readdirSync(join(site.installdir, ".xcimg")).filter((n) => n !== "locks");
  } catch {
    return [];
  }
}

let nb = 0;
async function refusedByBinary(bytes: Uint8Array, msg: RegExp | string, code: number, args: string[] = []): Promise<string> {
  mkdirSync(join(sb.dir, "bundles"), { recursive: true });
  const file = join(sb.dir, "bundles", `bin${nb++}.tgz`);
  writeFileSync(file, bytes);
  const files = snapshot();
  const state = await siteState();
  const r = await sb.bin(["import", file, ...args]);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(typeof msg === "string" ? new RegExp(msg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) : msg);
  expect(r.stderr).toMatch(/^Error: .*\n\s*hint: /m);
  expect(r.code).toBe(code);
  expect(snapshot()).toBe(files);
  expect(await siteState()).toBe(state);
  expect(readFileSync(join(outside, "victim"), "utf8")).toBe("untouched\n");
  expect(leftovers()).toEqual([]);
  return r.stderr;
}

/** A newc cpio archive from hand-made entries (names may hold any byte). */
function newc(entries: { name: string; mode: number; data?: Uint8Array | string; nlink?: number }[]): Uint8Array<ArrayBuffer> {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  let ino = 1;
  for (const e of [...entries, { name: "TRAILER!!!", mode: 0 }]) {
    const data = typeof e.data === "string" ? Buffer.from(e.data) : Buffer.from(e.data ?? new Uint8Array(0));
    const name = Buffer.concat([Buffer.from(e.name, "latin1"), Buffer.from([0])]);
    const f = [ino++, e.mode, 0, 0, (e as { nlink?: number }).nlink ?? 1, 1_700_000_000, data.length, 0, 0, 0, 0, name.length, 0];
    const head = Buffer.from(`070701${f.map((v) => v.toString(16).padStart(8, "0")).join("")}`, "latin1");
    parts.push(head, name, pad(110 + name.length), data, pad(data.length));
  }
  return new Uint8Array(Buffer.concat(parts));
}

const S = "sles15-x86_64-statelite-compute";
const SD = "/install/netboot/sles15/x86_64/compute";
function stateliteBundle(rootimgtree: Uint8Array): Uint8Array {
  const xml = [
    '<?xml version="1.0"?>',
    "<xcatimage>",
    `  <kernel>${SD}/kernel</kernel>`,
    `  <linuximage>\n    <imagename>${S}</imagename>\n    <rootimgdir>${SD}</rootimgdir>\n  </linuximage>`,
    `  <litefile>${SD}/litefile.csv</litefile>`,
    `  <osimage>\n    <imagename>${S}</imagename>\n    <osarch>x86_64</osarch>\n    <osvers>sles15</osvers>\n    <profile>compute</profile>\n    <provmethod>statelite</provmethod>\n  </osimage>`,
    `  <ramdisk>${SD}/initrd-statelite.gz</ramdisk>`,
    `  <rootimgtree>${SD}/rootimgtree.gz</rootimgtree>`,
    "</xcatimage>",
    "",
  ].join("\n");
  return tgz([
    { name: "./", type: "dir" },
    { name: `./${S}/`, type: "dir" },
    { name: `./${S}/manifest.xml`, data: xml },
    { name: `./${S}/kernel`, data: "k" },
    { name: `./${S}/initrd-statelite.gz`, data: Buffer.from(Bun.gzipSync(Buffer.from("i"))) },
    { name: `./${S}/litefile.csv`, data: `"${S}","/etc/ssh/","persistent",,\n` },
    { name: `./${S}/rootimgtree.gz`, data: rootimgtree },
  ]);
}

describe("issue #12: hostile bundles through the compiled binary", () => {
  const PS = "/install/postscripts";

  test("1/3: an extra directory's symlink to / or out of its tree is refused, in every spelling", async () => {
    for (const [link, why] of [
      ["/", "an absolute path"],
      [outside, "an absolute path"],
      ["../../../../../../../../..", "which leads outside"],
      ["sub/../..", "which leads outside"],
      ["", "an empty target"],
    ] as const) {
      await refusedByBinary(
        tgz([
          ...base(manifest(extraXml(PS, PS))),
          ...dirs("extra", "extra/install", "extra/install/postscripts", "extra/install/postscripts/sub"),
          { name: `./${IMG}/extra/install/postscripts/lnk`, type: "symlink", link },
        ]),
        `is a symlink to '${link}', ${why}`,
        65,
      );
    }
  });

  test("1: a link resolved physically, across two extras of one destination, is refused (x -> y/.., y -> .)", async () => {
    await refusedByBinary(
      tgz([
        ...base(manifest(`${extraXml("/opt/a", PS)}\n${extraXml("/opt/b", PS)}`)),
        ...dirs("extra", "extra/opt", "extra/opt/a", "extra/opt/b"),
        { name: `./${IMG}/extra/opt/a/x`, type: "symlink", link: "y/.." },
        { name: `./${IMG}/extra/opt/b/y`, type: "symlink", link: "." },
      ]),
      "is a symlink to 'y/..', which leads outside",
      65,
    );
  });

  test("1: one extra places a link, a second merges files through it: refused", async () => {
    // the link alone would be fine (it stays inside); the second extra's destination is that link
    await refusedByBinary(
      tgz([
        ...base(manifest(`${extraXml(PS, PS)}\n${extraXml("/opt/site", `${PS}/lnk`)}`)),
        ...dirs("extra", "extra/install", "extra/install/postscripts", "extra/install/postscripts/sub", "extra/opt", "extra/opt/site"),
        { name: `./${IMG}/extra/install/postscripts/lnk`, type: "symlink", link: "sub" },
        { name: `./${IMG}/extra/opt/site/victim`, data: "owned" },
      ]),
      `the bundle puts two different things at ${sb.installdir}/postscripts/lnk`,
      65,
    );
  });

  test("1: nothing is written through a symlink already in installdir (a destination or any parent)", async () => {
    mkdirSync(join(outside, "nb"), { recursive: true });
    const linkAt = (p: string, to: string) => sh(["ln", "-s", to, join(sb.installdir, p)]);
    try {
      // an extra directory whose destination is a link out of the site
      mkdirSync(join(sb.installdir, "postscripts"), { recursive: true });
      linkAt("postscripts/lnk", outside);
      await refusedByBinary(
        tgz([
          ...base(manifest(extraXml("/opt/site", `${PS}/lnk`))),
          ...dirs("extra", "extra/opt", "extra/opt/site"),
          { name: `./${IMG}/extra/opt/site/victim`, data: "owned" },
        ]),
        `${sb.installdir}/postscripts/lnk is a symbolic link`,
        65,
      );
      // the kernel's directory lies below a link: found while placing, after extraction, and undone
      linkAt("netboot", join(outside, "nb"));
      const err = await refusedByBinary(tgz(base()), `${sb.installdir}/netboot is a symbolic link`, 65);
      expect(err).toContain("does not place files through a symbolic link");
      expect(readdirSync(join(outside, "nb"))).toEqual([]);
    } finally {
      rmSync(join(sb.installdir, "netboot"), { force: true });
      rmSync(join(sb.installdir, "postscripts"), { recursive: true, force: true });
      rmSync(join(outside, "nb"), { recursive: true, force: true });
    }
  });

  test("2: pax keywords GNU tar honours and the vetter would not (GNU.sparse.*, global path) are refused", async () => {
    // GNU tar would extract this "symlink under extra/" as the image's kernel
    await refusedByBinary(
      tgz([...base(), ...dirs("extra"), { name: `./${IMG}/extra/lnk`, type: "symlink", link: "/", pax: { "GNU.sparse.name": `./${IMG}/kernel` } }]),
      "pax header keyword 'GNU.sparse.name' is not allowed in a bundle",
      65,
    );
    await refusedByBinary(
      tgz([...base(), { name: `./${IMG}/x`, data: "x", pax: { "GNU.sparse.major": "1", "GNU.sparse.minor": "0" } }]),
      "GNU.sparse.major",
      65,
    );
    // xattrs/ACLs belong to a root tree: on a placed file they could carry file capabilities
    await refusedByBinary(
      tgz([...base().slice(0, 3), { name: `./${IMG}/kernel`, data: "kernel", pax: { "SCHILY.xattr.security.capability": "x" } }, ...base().slice(4)]),
      "carries extended attributes or ACLs",
      65,
    );
  });

  test("2: a rootimgtree.gz name GNU cpio would cut at a NUL (and so write through a link) is refused", async () => {
    // the vetter used to see 'rootimg/a\0b' (a symlink) and 'rootimg/a/victim' as unrelated; cpio sees rootimg/a -> outside, then writes through it
    const cpio = newc([
      { name: "rootimg", mode: 0o040755 },
      { name: "rootimg/a\0b", mode: 0o120777, data: outside },
      { name: "rootimg/a/victim", mode: 0o100644, data: "owned" },
    ]);
    await refusedByBinary(stateliteBundle(Bun.gzipSync(cpio)), "has a NUL byte in its name", 65);
    await refusedByBinary(
      stateliteBundle(
        Bun.gzipSync(
          newc([
            { name: "rootimg", mode: 0o040755 },
            { name: "rootimg/x", mode: 0o100644, data: "1" },
            { name: "rootimg/x", mode: 0o100644, data: "2" },
          ]),
        ),
      ),
      "entry 'rootimg/x' appears twice",
      65,
    );
  });

  test("5: an extra directory does not replace an existing, different file without --force", async () => {
    mkdirSync(join(sb.installdir, "postscripts"), { recursive: true });
    writeFileSync(join(sb.installdir, "postscripts", "myscript"), "site version\n");
    try {
      const bundle = tgz([
        ...base(manifest(extraXml(PS, PS))),
        ...dirs("extra", "extra/install", "extra/install/postscripts"),
        { name: `./${IMG}/extra/install/postscripts/new`, data: "new\n" },
        { name: `./${IMG}/extra/install/postscripts/myscript`, data: "bundle version\n" },
      ]);
      const err = await refusedByBinary(bundle, `would replace 1 existing file(s): ${sb.installdir}/postscripts/myscript`, 64);
      expect(err).toContain("--force");
      expect(existsSync(join(sb.installdir, "postscripts", "new"))).toBe(false);
    } finally {
      rmSync(join(sb.installdir, "postscripts"), { recursive: true, force: true });
    }
  });

  test("6: a rootimgtree.gz that expands more than 1000:1 is stopped while decompressing", async () => {
    const zeros = newc([
      { name: "rootimg", mode: 0o040755 },
      { name: "rootimg/zero", mode: 0o100644, data: new Uint8Array(256 << 20) },
    ]);
    const bomb = Bun.gzipSync(zeros, { level: 9 });
    expect(bomb.length).toBeLessThan(300 << 10);
    await refusedByBinary(stateliteBundle(bomb), `rootimgtree.gz expands to more than 1000 times its compressed size of ${bomb.length} bytes`, 65);
  }, 60_000);
});

describe("issue #12: what a legitimate bundle places is confined and normalised", () => {
  test("4/3: modes and owners outside the root tree are normalised; links inside their tree stay", async () => {
    const ok = new Sandbox("hostile-modes");
    try {
      const entries = base(manifest(extraXml("/install/postscripts", "/install/postscripts")));
      const kernel = entries.find((e) => e.name.endsWith("/kernel")) as Entry;
      kernel.mode = 0o6666;
      kernel.uid = 1234;
      entries.push(
        ...dirs("extra", "extra/install", "extra/install/postscripts", "extra/install/postscripts/sub"),
        { name: `./${IMG}/extra/install/postscripts/sub/run`, data: "#!/bin/sh\n", mode: 0o6777, uid: 1234 },
        { name: `./${IMG}/extra/install/postscripts/notes`, data: "text\n", mode: 0o0666 },
        { name: `./${IMG}/extra/install/postscripts/run`, type: "symlink", link: "sub/run" },
      );
      const file = join(ok.dir, "ok.tgz");
      writeFileSync(file, tgz(entries));
      const r = await ok.bin(["import", file]);
      expect(r.stderr).not.toContain("Error");
      expect(r.code).toBe(0);
      const st = (p: string) => lstatSync(join(ok.installdir, p));
      const k = st("netboot/rhels8.5/x86_64/compute/kernel");
      expect([k.mode & 0o7777, k.uid, k.gid]).toEqual([0o644, 0, 0]);
      const run = st("postscripts/sub/run");
      expect([run.mode & 0o7777, run.uid, run.gid]).toEqual([0o755, 0, 0]);
      expect(st("postscripts/notes").mode & 0o7777).toBe(0o644);
      expect(st("postscripts/sub").mode & 0o7777).toBe(0o755);
      expect(readlinkSync(join(ok.installdir, "postscripts/run"))).toBe("sub/run");
      // identical files are left alone: the same extras again, under another profile, need no --force
      const again = await ok.bin(["import", file, "-f", "compute2"]);
      expect(again.code).toBe(0);
      expect(again.stderr).toContain(`${ok.installdir}/postscripts/sub/run (unchanged)`);
    } finally {
      ok.cleanup();
    }
  });

  test("6: a rootimgtree.gz larger than installdir's free space is stopped with exit 74", async () => {
    const small = new Sandbox("hostile-full");
    try {
      sh(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", small.installdir]);
      try {
        // 48 MiB that compress about 20:1: no ratio cap applies, only the free space
        const data = new Uint8Array(48 << 20);
        let x = 1;
        for (let i = 0; i < data.length; i += 64) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          data[i] = x >>> 24;
        }
        const tree = Bun.gzipSync(
          newc([
            { name: "rootimg", mode: 0o040755 },
            { name: "rootimg/big", mode: 0o100644, data },
          ]),
          { level: 1 },
        );
        expect(tree.length).toBeLessThan(4 << 20);
        const file = join(small.dir, "full.tgz");
        writeFileSync(file, stateliteBundle(tree));
        const before = treeListing(small.installdir, { xattrs: false });
        const r = await small.bin(["import", file]);
        expect(r.stderr).toMatch(/Error: rootimgtree\.gz expands to more than the \d+ bytes free in/);
        expect(r.stderr).toContain("hint:");
        expect(r.code).toBe(74);
        expect(leftovers(small)).toEqual([]);
        expect(
          treeListing(small.installdir, { xattrs: false })
            .split("\n")
            .filter((l) => !l.startsWith('".xcimg'))
            .join("\n"),
        ).toBe(
          before
            .split("\n")
            .filter((l) => !l.startsWith('".xcimg'))
            .join("\n"),
        );
        expect((await small.bin(["image", "list"])).stdout).toBe("");
      } finally {
        sh(["umount", small.installdir]);
      }
    } finally {
      small.cleanup();
    }
  }, 60_000);

  test("7: kill -9 during an import leaves a staging tree; the next import removes it", async () => {
    const site = new Sandbox("hostile-kill");
    try {
      const entries = base();
      // a large, incompressible root image, so extraction and its check take a moment
      const big = new Uint8Array(96 << 20);
      crypto.getRandomValues(big.subarray(0, 65536));
      for (let off = 65536; off < big.length; off *= 2) big.copyWithin(off, 0, Math.min(off, big.length - off));
      (entries[5] as Entry).data = big;
      const file = join(site.dir, "big.tgz");
      writeFileSync(file, Bun.gzipSync(new Uint8Array(tarball(entries)), { level: 1 }));
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(site.env)) if (v !== undefined) env[k] = v;
      const proc = Bun.spawn([BIN, "import", file], { env, stdout: "ignore", stderr: "ignore" });
      const stage = join(site.installdir, ".xcimg");
      let seen = "";
      for (let i = 0; i < 2000 && !seen; i++) {
        seen = leftovers(site).find((n) => n.startsWith(`import.${proc.pid}.`)) ?? "";
        if (!seen) await Bun.sleep(5);
      }
      expect(seen).not.toBe("");
      process.kill(proc.pid, "SIGKILL");
      await proc.exited;
      expect(readdirSync(stage)).toContain(seen);
      const r = await site.bin(["import", file]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`Removed ${join(stage, seen)}, left by an import that did not finish.`);
      expect(leftovers(site)).toEqual([]);
    } finally {
      site.cleanup();
    }
  }, 60_000);

  test("7: an export removes what a killed export left next to its bundle", async () => {
    const site = new Sandbox("hostile-export");
    try {
      const file = join(site.dir, "in.tgz");
      writeFileSync(file, tgz(base()));
      expect((await site.bin(["import", file])).code).toBe(0);
      const out = join(site.dir, "out");
      mkdirSync(out);
      const dead = Bun.spawnSync(["true"]).pid;
      mkdirSync(join(out, `.xcimg-export.${dead}.abcdef`));
      writeFileSync(join(out, `.${IMG}.tgz.xcimg-tmp-${dead}`), "partial");
      writeFileSync(join(out, `.${IMG}.tgz.xcimg-tmp-${process.pid}`), "a live export's");
      const r = await site.bin(["export", IMG, `${out}/`]);
      expect(r.code).toBe(0);
      expect(readdirSync(out).sort()).toEqual([`.${IMG}.tgz.xcimg-tmp-${process.pid}`, `${IMG}.tgz`]);
    } finally {
      site.cleanup();
    }
  });
});
