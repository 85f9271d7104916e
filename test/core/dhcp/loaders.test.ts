import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BYMAC_SCRIPTS, bootRules, GRUB_REDIRECTS, LOADER_NAMES } from "../../../src/core/dhcp/boot-rules";
import { GRUB_REDIRECT, LOADER_SOURCES, type LoaderSettings, publishLoaders } from "../../../src/core/dhcp/loaders";
import type { DhcpSettings } from "../../../src/core/dhcp/settings";
import { defineNetbootImage } from "../../helpers/images";
import { Sandbox } from "../../helpers/sandbox";

/**
 * The first-stage loaders come from the management node's own packages — Debian's ipxe,
 * shim-signed, grub-efi-amd64-signed, pxelinux (scripts/setup-debian.sh installs them) — and
 * land in tftpdir under the names the boot rules give DHCP. Under CI=true a package missing
 * here is a failure.
 */
const PACKAGES: [string, string][] = [
  ["/usr/lib/ipxe/undionly.kpxe", "ipxe"],
  ["/usr/lib/shim/shimx64.efi.signed", "shim-signed"],
  ["/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed", "grub-efi-amd64-signed"],
  ["/usr/lib/PXELINUX/pxelinux.0", "pxelinux"],
];
const installed = PACKAGES.every(([f]) => existsSync(f));
if (!installed && process.env.CI === "true")
  throw new Error(`missing: ${PACKAGES.filter(([f]) => !existsSync(f)).map(([, p]) => p)} (scripts/setup-debian.sh)`);

let tftp: string;
beforeAll(() => {
  tftp = mkdtempSync(join(tmpdir(), "xcimg-loaders-"));
});
afterAll(() => rmSync(tftp, { recursive: true, force: true }));

const settings = (o: Partial<LoaderSettings> = {}): DhcpSettings => ({
  backend: "dnsmasq",
  interfaces: [],
  lease: 43200,
  nameservers: [],
  biosLoader: "xnba",
  uefiLoader: "xnba",
  master: "10.0.0.1",
  httpPort: 80,
  tftpdir: tftp,
  ...o,
});

/** The TFTP names the rules hand out for plain firmware (not iPXE's scripts, not URLs). */
const ruleFiles = (s: DhcpSettings) =>
  bootRules(s)
    .map((r) => r.filename)
    .filter((f) => !f.startsWith("http") && !Object.values(BYMAC_SCRIPTS).includes(f as never));

describe.if(installed)("loaders from the MN's packages", () => {
  for (const [bios, uefi] of [
    ["xnba", "xnba"],
    ["pxe", "grub2"],
  ] as const) {
    test(`dhcpbiosloader=${bios} dhcpuefiloader=${uefi}: every file a rule names is published or named as missing`, () => {
      const s = settings({ biosLoader: bios, uefiLoader: uefi });
      const r = publishLoaders(s);
      expect(r.missing).toEqual({});
      for (const f of ruleFiles(s)) {
        const inPlace = r.published.includes(join(tftp, f));
        // Debian has no arm64 GRUB for an x86-64 MN: named with the package, not published
        if (f === LOADER_NAMES.grubArm64 && !inPlace) expect(r.missingArm64[f]).toContain("grub-efi-arm64-signed");
        else expect(inPlace, f).toBe(true);
      }
      // and nothing else but what those loaders chain to (shim → grubx64.efi → grub/grub.cfg, pxelinux.0 → ldlinux.c32)
      const chained = [LOADER_NAMES.ipxeBios, LOADER_NAMES.ipxeEfi, LOADER_NAMES.grubX64, ...GRUB_REDIRECTS, "ldlinux.c32"];
      for (const p of r.published) expect([...ruleFiles(s), ...chained].map((f) => join(tftp, f))).toContain(p);
      for (const l of LOADER_SOURCES) {
        const src = l.candidates.find((c) => existsSync(c));
        if (src && r.published.includes(join(tftp, l.name))) expect(readFileSync(join(tftp, l.name)).equals(readFileSync(src)), l.name).toBe(true);
      }
    });
  }

  test("grub2: shim and Debian's signed netboot GRUB, and the redirect to the node's grub.cfg-01-<mac>", () => {
    publishLoaders(settings({ uefiLoader: "grub2" }));
    expect(readFileSync(join(tftp, "shimx64.efi")).equals(readFileSync("/usr/lib/shim/shimx64.efi.signed"))).toBe(true);
    expect(readFileSync(join(tftp, "grubx64.efi")).equals(readFileSync("/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"))).toBe(true);
    expect(readFileSync(join(tftp, "grub/grub.cfg"), "utf8")).toBe(GRUB_REDIRECT);
    expect(GRUB_REDIRECT).toContain("configfile ($root)/boot/grub2/grub.cfg-01-$m1-$m2-$m3-$m4-$m5-$m6\n");
  });

  test("a second run copies nothing and keeps every inode; a changed file is replaced by a rename", () => {
    const s = settings({ uefiLoader: "grub2" });
    publishLoaders(s);
    const ino = (f: string) => statSync(join(tftp, f)).ino;
    const before = [LOADER_NAMES.ipxeBios, LOADER_NAMES.shimX64, "grub/grub.cfg"].map(ino);
    const again = publishLoaders(s);
    expect(again.copied).toEqual([]);
    expect([LOADER_NAMES.ipxeBios, LOADER_NAMES.shimX64, "grub/grub.cfg"].map(ino)).toEqual(before);
    // an older build left in tftpdir (another size): replaced, under a new inode, never written in place
    writeFileSync(join(tftp, LOADER_NAMES.ipxeBios), "an older undionly.kpxe");
    const old = ino(LOADER_NAMES.ipxeBios);
    const r = publishLoaders(s);
    expect(r.copied).toEqual([join(tftp, LOADER_NAMES.ipxeBios)]);
    expect(ino(LOADER_NAMES.ipxeBios)).not.toBe(old);
    expect(readFileSync(join(tftp, LOADER_NAMES.ipxeBios)).equals(readFileSync("/usr/lib/ipxe/undionly.kpxe"))).toBe(true);
  });

  test("a grub/grub.cfg the site wrote itself is left alone and reported", () => {
    const own = mkdtempSync(join(tmpdir(), "xcimg-loaders-own-"));
    try {
      mkdirSync(join(own, "grub"));
      writeFileSync(join(own, "grub/grub.cfg"), "set timeout=1\n");
      const r = publishLoaders({ ...settings({ uefiLoader: "grub2" }), tftpdir: own });
      expect(r.kept).toEqual([join(own, "grub/grub.cfg")]);
      expect(readFileSync(join(own, "grub/grub.cfg"), "utf8")).toBe("set timeout=1\n");
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});

describe.if(installed)("xcimg boot publishes the loaders once per run", () => {
  let sb: Sandbox;
  const IMG = "ld1-x86_64-netboot-compute";
  beforeAll(async () => {
    sb = new Sandbox("boot-loaders");
    const img = await defineNetbootImage(sb, IMG, []);
    mkdirSync(join(img.rootimg, "boot"), { recursive: true });
    writeFileSync(join(img.rootimg, "boot/vmlinuz-6.1.0-10-amd64"), Buffer.alloc(1024, 1));
    const nodes = [1, 2].map((n) => ["node", "set", `cn0${n}`, "groups=compute,all", "arch=x86_64", `mac=52:54:00:00:01:0${n}`, `ip=10.0.2.1${n}`]);
    for (const argv of [["pack", IMG], ...nodes]) {
      const r = await sb.run(...argv);
      expect(r.code, r.stderr).toBe(0);
    }
  });
  afterAll(() => sb?.cleanup());

  test("without dhcp -n: iPXE under xCAT's names; with dhcpuefiloader=grub2 also the shim chain", async () => {
    let r = await sb.run("boot", "cn[01-02]", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("first-stage loaders");
    expect(readFileSync(join(sb.tftpdir, "xcat/xnba.kpxe")).equals(readFileSync("/usr/lib/ipxe/undionly.kpxe"))).toBe(true);
    expect(readFileSync(join(sb.tftpdir, "xcat/xnba.efi")).equals(readFileSync("/usr/lib/ipxe/ipxe.efi"))).toBe(true);
    expect(existsSync(join(sb.tftpdir, "shimx64.efi"))).toBe(false);
    expect((await sb.run("table", "set", "site", "key=dhcpuefiloader", "value=grub2")).code).toBe(0);
    r = await sb.run("boot", "cn[01-02]", "-o", IMG);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(sb.tftpdir, "shimx64.efi")).equals(readFileSync("/usr/lib/shim/shimx64.efi.signed"))).toBe(true);
    expect(readFileSync(join(sb.tftpdir, "grub/grub.cfg"), "utf8")).toBe(GRUB_REDIRECT);
  });

  test("a loader setting it cannot use warns once and the boot goes on", async () => {
    expect((await sb.run("table", "set", "site", "key=dhcpbiosloader", "value=elilo")).code).toBe(0);
    try {
      const r = await sb.run("boot", "cn[01-02]", "-o", IMG);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr.match(/first-stage loaders not published: site\.dhcpbiosloader 'elilo' is not one of xnba, pxe/g)?.length).toBe(1);
      expect(r.stdout).toMatch(/^cn01: /m);
      expect(r.stdout).toMatch(/^cn02: /m);
    } finally {
      await sb.run("table", "set", "site", "key=dhcpbiosloader", "value=xnba");
    }
  });
});
