import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { manifestXml, parseManifestXml, verifyCommon } from "../../../src/core/bundle/manifest";
import { parseManifestCfg } from "../../../src/core/bundle/manifest-cfg";
import { parseXml } from "../../../src/core/bundle/xml-reader";
import { type XmlValue, xmlSimpleOut } from "../../../src/core/bundle/xml-writer";

/**
 * manifest.xml against XML::Simple 2.25 itself: golden/*.xml and golden/xmlin.json were made
 * by golden/generate.pl (XMLout as imgexport calls it, XMLin as imgimport calls it).
 */
const GOLDEN = join(import.meta.dir, "golden");
const cases = JSON.parse(readFileSync(join(GOLDEN, "cases.json"), "utf8")) as Record<string, Record<string, XmlValue>>;
const xmlin = JSON.parse(readFileSync(join(GOLDEN, "xmlin.json"), "utf8")) as Record<string, Record<string, unknown>>;

describe("manifest.xml writer = XML::Simple XMLout", () => {
  for (const [name, data] of Object.entries(cases)) {
    test(`${name}: byte for byte`, () => {
      expect(xmlSimpleOut("xcatimage", data)).toBe(readFileSync(join(GOLDEN, `${name}.xml`), "utf8"));
    });
  }

  test("manifestXml of a parsed manifest reproduces xCAT's bytes", () => {
    const text = readFileSync(join(GOLDEN, "netboot.xml"), "utf8");
    expect(manifestXml(parseManifestXml(text, "netboot.xml").manifest)).toBe(text);
    const kits = readFileSync(join(GOLDEN, "install-kits.xml"), "utf8");
    expect(manifestXml(parseManifestXml(kits, "install-kits.xml").manifest)).toBe(kits);
  });
});

describe("manifest.xml reader accepts what XMLin accepts", () => {
  test("repeated and single <extra>, escaped text", () => {
    const net = parseManifestXml(readFileSync(join(GOLDEN, "netboot.xml")), "m").manifest;
    const want = (xmlin.netboot?.extra ?? []) as { src: string; dest: string }[];
    expect(net.extra).toEqual(want.map((e) => ({ src: e.src, dest: e.dest })));
    expect(net.top.postscripts).toBe("syslog,remoteshell,syncfiles");
    const one = parseManifestXml(readFileSync(join(GOLDEN, "statelite-one-extra.xml")), "m").manifest;
    const seen = xmlin["statelite-one-extra"] as { extra: { src: string; dest: string }; osimage: { description: string } };
    expect(Array.isArray(seen.extra)).toBe(false); // XMLin gives a hash for a single <extra>
    expect(one.extra).toEqual([{ src: seen.extra.src, dest: seen.extra.dest }]);
    expect(one.osimage.description).toBe(seen.osimage.description);
    expect(one.top.rootimgtree).toBe("/install/netboot/sles15/x86_64/compute/rootimgtree.gz");
  });

  test("kits: repeated (folded by XMLin) and single (not folded) read alike", () => {
    const many = parseManifestXml(readFileSync(join(GOLDEN, "install-kits.xml")), "m").manifest;
    expect(many.kit).toEqual((xmlin["install-kits"]?.kit ?? {}) as Record<string, Record<string, string>>);
    const single = parseManifestXml(readFileSync(join(GOLDEN, "read-single-kit.xml")), "m").manifest;
    const seenKit = (xmlin["read-single-kit"]?.kit ?? {}) as Record<string, string>;
    expect(seenKit.name).toBe("kitA-1.0"); // XMLin does not fold a single <kit>: xCAT's latent bug
    expect(single.kit).toEqual({ "kitA-1.0": { kitdir: "/install/kits/kitA-1.0", kitname: "kitA-1.0" } });
    expect(verifyCommon(single)).toEqual([]);
    expect(single.osimage.imagename).toBe("x"); // trimmed, as verify_manifest does
  });

  test("xCAT 2.7 flat manifests are adapted (manifest_adapter)", () => {
    const m = parseManifestXml(readFileSync(join(GOLDEN, "read-legacy-2.7.xml")), "m").manifest;
    expect(m.osimage).toMatchObject({
      imagename: "myimage",
      profile: "compute1",
      provmethod: "netboot",
      osvers: "sles12",
      synclists: "/install/custom/netboot/sles/compute1.list",
    });
    expect(m.linuximage).toMatchObject({
      imagename: "myimage",
      exlist: "/install/custom/netboot/sles/compute1.exlist",
      netdrivers: "e1000",
      rootimgdir: "/install/netboot/sles12/ppc64le/compute1",
    });
    expect(m.top.kernel).toBe("/install/netboot/sles12/ppc64le/compute1/kernel");
    expect(m.extra).toHaveLength(1);
  });

  test("s390x raw image files are read but refused", () => {
    const m = parseManifestXml(readFileSync(join(GOLDEN, "s390x-raw.xml")), "m").manifest;
    expect(m.rawimagefiles).toEqual(["/install/netboot/rhels8/s390x/p/0100.img"]);
    expect(verifyCommon(m).join("\n")).toContain("rawimagefiles");
  });

  test("verify_manifest messages", () => {
    const m = parseManifestXml(
      '<?xml version="1.0"?><xcatimage><osimage><imagename>a</imagename><provmethod>raw</provmethod></osimage></xcatimage>',
      "m",
    ).manifest;
    expect(verifyCommon(m)).toEqual([
      "The 'profile' field is not defined in manifest.xml.",
      "The 'osvers' field is not defined in manifest.xml.",
      "The 'osarch' field is not defined in manifest.xml.",
      "Importing images with 'provmethod' raw is not supported. Hint: install, netboot, statelite or sysclone",
    ]);
  });
});

describe("the XML reader is strict and safe", () => {
  const bad: [string, string | RegExp][] = [
    ['<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', /DOCTYPE/],
    ['<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><x>&lol2;</x>', /DOCTYPE/],
    ['<x><!ENTITY a "b"></x>', /markup declarations/],
    ["<x>&ext;</x>", /undefined entity &ext;/],
    ["<x>&#0;</x>", /invalid character reference/],
    ["<x>a & b</x>", /'&' must start a reference/],
    ["<x><y></x>", /<\/x> closes <y>/],
    ["<x>", /not closed/],
    ["<x/><y/>", /content after the root element/],
    ["<x a='1' a='2'/>", /given twice/],
    [`${"<a>".repeat(40)}${"</a>".repeat(40)}`, /nested deeper than 32/],
  ];
  for (const [xml, msg] of bad) {
    test(`refuses ${xml.slice(0, 50)}`, () => {
      expect(() => parseXml(xml, "manifest.xml")).toThrow(msg);
    });
  }

  test("size limit, with the file named", () => {
    expect(() => parseXml(`<x>${"a".repeat(2 << 20)}</x>`, "img/manifest.xml")).toThrow(/img\/manifest.xml is \d+ bytes, more than the 1048576/);
  });

  test("errors carry line and column", () => {
    expect(() => parseXml("<x>\n  <y>&nope;</y>\n</x>", "m.xml")).toThrow("m.xml:2:6: undefined entity &nope;");
  });

  test("a parse error becomes xCAT's message with the detail as hint", () => {
    try {
      parseManifestXml("<xcatimage><osimage>", "m.xml");
      throw new Error("not refused");
    } catch (e) {
      expect((e as Error).message).toBe("invalid manifest.xml file inside the bundle.  Please verify the XML");
      expect((e as { hint?: string }).hint).toContain("m.xml:1:");
    }
  });

  test("CDATA, comments, character references and attributes are read", () => {
    const el = parseXml('<?xml version="1.0"?>\n<!-- c --><x k="v&amp;w"><a><![CDATA[<b>]]>&#65;&#x42;&apos;</a><!-- c2 --></x>', "m");
    expect(el.attrs).toEqual([["k", "v&w"]]);
    expect(el.children[0]?.text).toBe("<b>AB'");
  });
});

describe("seed 001 manifest.cfg", () => {
  test("one key per line, with comments", () => {
    const cfg = [
      "name Foo_Stateless # required",
      "os rhels5.4",
      "arch x86_64",
      "profile foo",
      "method netboot",
      "initrd initrd.gz",
      "kernel kernel",
      "rootimg rootimg.gz",
      "extra my_cool_postscript:/install/postscripts",
      "",
    ].join("\n");
    const { manifest: m, extras } = parseManifestCfg(cfg, "manifest.cfg", "/srv/install");
    expect(m.osimage).toMatchObject({ imagename: "Foo_Stateless", osvers: "rhels5.4", osarch: "x86_64", profile: "foo", provmethod: "netboot" });
    expect(m.top.ramdisk).toBe("/srv/install/netboot/rhels5.4/x86_64/foo/initrd-stateless.gz");
    expect(m.top.rootimg).toBe("/srv/install/netboot/rhels5.4/x86_64/foo/rootimg.gz");
    expect(Object.values(m.sources)).toContain("initrd.gz");
    expect(extras).toEqual([{ file: "my_cool_postscript", dest: "/srv/install/postscripts" }]);
  });

  test("all on one line (the seed's install example)", () => {
    const { manifest: m } = parseManifestCfg(
      "name Foo_Image os rhels5.4 arch x86_64 profile foo method install template foo.tmpl media required",
      "manifest.cfg",
      "/install",
    );
    expect(m.linuximage.template).toBe("/install/custom/install/rh/foo.tmpl");
    expect(m.top.media).toBe("required");
  });

  test("bad files are refused with the line", () => {
    expect(() => parseManifestCfg("name a\nbogus b\n", "manifest.cfg", "/install")).toThrow("manifest.cfg:2: unknown key 'bogus'");
    expect(() => parseManifestCfg("name a os\n", "manifest.cfg", "/install")).toThrow("manifest.cfg:1: expected 'key value' pairs");
    expect(() => parseManifestCfg("name a os b arch x86_64 profile p method install", "manifest.cfg", "/install")).toThrow("'template' is required");
  });
});
