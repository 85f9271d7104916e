import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeNetboot, makeRootTree, makeStatelite, sh, treeListing } from "../helpers/bundle-sites";
import { Sandbox } from "../helpers/sandbox";

/**
 * Compatibility with xCAT itself: bundles laid out and tarred exactly as imgexport's
 * make_bundle does (`cd <staging>; tar czf <bundle> .`) import into xcimg, and what xcimg
 * exports has the member layout and manifest bytes imgimport expects.
 */
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "xcimg-xcatbundle-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function stage(name: string, files: Record<string, string | Uint8Array>): string {
  const dir = join(work, name);
  for (const [rel, data] of Object.entries(files)) {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), data);
  }
  chmodSync(dir, 0o700); // mkdtemp
  const bundle = join(work, `${name}.tgz`);
  sh(["tar", "czf", bundle, "."], dir);
  return bundle;
}

const IMG = "rhels8.5-x86_64-netboot-compute";
const XCAT_MANIFEST = `<?xml version="1.0"?>
<xcatimage>
  <extra>
    <dest>/install/postscripts</dest>
    <src>/install/postscripts/myscript1</src>
  </extra>
  <extra>
    <dest>/install/mydir</dest>
    <src>/tmp/mydir</src>
  </extra>
  <kernel>/install/netboot/rhels8.5/x86_64/compute/kernel</kernel>
  <linuximage>
    <exlist>/opt/xcat/share/xcat/netboot/rh/compute.rhels8.x86_64.exlist</exlist>
    <imagename>${IMG}</imagename>
    <pkgdir>/install/rhels8.5/x86_64</pkgdir>
    <pkglist>/opt/xcat/share/xcat/netboot/rh/compute.rhels8.x86_64.pkglist</pkglist>
    <rootimgdir>/install/netboot/rhels8.5/x86_64/compute</rootimgdir>
  </linuximage>
  <osimage>
    <imagename>${IMG}</imagename>
    <imagetype>linux</imagetype>
    <osarch>x86_64</osarch>
    <osname>Linux</osname>
    <osvers>rhels8.5</osvers>
    <profile>compute</profile>
    <provmethod>netboot</provmethod>
  </osimage>
  <postbootscripts>otherpkgs</postbootscripts>
  <postscripts>syslog,remoteshell,syncfiles,myscript1</postscripts>
  <ramdisk>/install/netboot/rhels8.5/x86_64/compute/initrd-stateless.gz</ramdisk>
  <rootimg>/install/netboot/rhels8.5/x86_64/compute/rootimg.cpio.gz</rootimg>
</xcatimage>
`;

describe("bundles made by xCAT's imgexport import", () => {
  test("netboot with lists from /opt/xcat/share, two extras (file and directory) and -p", async () => {
    const bundle = stage("xcat-netboot", {
      [`${IMG}/manifest.xml`]: XCAT_MANIFEST,
      [`${IMG}/kernel`]: "kernel-bytes",
      [`${IMG}/initrd-stateless.gz`]: Bun.gzipSync(Buffer.from("initrd")),
      [`${IMG}/rootimg.cpio.gz`]: Bun.gzipSync(Buffer.from("cpio")),
      [`${IMG}/compute.rhels8.x86_64.pkglist`]: "bash\n",
      [`${IMG}/compute.rhels8.x86_64.exlist`]: "./usr/share/doc*\n",
      [`${IMG}/extra/myscript1`]: "#!/bin/sh\n",
      [`${IMG}/extra/tmp/mydir/a.conf`]: "a\n",
      [`${IMG}/extra/tmp/mydir/sub/b.conf`]: "b\n",
    });
    expect(sh(["tar", "tzf", bundle]).split("\n")).toContain(`./${IMG}/manifest.xml`);
    const sb = new Sandbox("xcat-netboot");
    try {
      await sb.run("node", "set", "cn1,cn2", "groups=compute");
      await sb.run("table", "set", "postscripts", "node=xcatdefaults", "postscripts=syslog,remoteshell,syncfiles", "postbootscripts=otherpkgs");
      const r = await sb.run("import", bundle, "-p", "cn1,ghost");
      expect(r.stderr).not.toContain("Error");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`Successfully imported the image ${IMG}.\n`);
      expect(r.stderr).toContain("Unbundling image...");
      expect(r.stderr).toContain("Warning: The following nodes will be skipped because they are not in the nodelist table.\n  ghost");
      const I = sb.installdir;
      const dir = join(I, "netboot/rhels8.5/x86_64/compute");
      expect(readFileSync(join(dir, "kernel"), "utf8")).toBe("kernel-bytes");
      expect(readFileSync(join(I, "custom/netboot/rh/compute.rhels8.x86_64.pkglist"), "utf8")).toBe("bash\n");
      expect(readFileSync(join(I, "postscripts/myscript1"), "utf8")).toBe("#!/bin/sh\n");
      expect(readFileSync(join(I, "mydir/sub/b.conf"), "utf8")).toBe("b\n");
      const show = (await sb.run("image", "show", IMG)).stdout;
      expect(show).toContain(`    pkglist=${I}/custom/netboot/rh/compute.rhels8.x86_64.pkglist`);
      expect(show).toContain(`    pkgdir=${I}/rhels8.5/x86_64`);
      expect(show).toContain(`    rootimgdir=${dir}`);
      // xcatdefaults' scripts are not repeated per node (set_postscripts)
      expect((await sb.run("table", "dump", "postscripts")).stdout).toBe(
        ["#node,postscripts,postbootscripts,comments,disable", '"xcatdefaults","syslog,remoteshell,syncfiles","otherpkgs",,', '"cn1","myscript1",,,', ""].join(
          "\n",
        ),
      );
    } finally {
      sb.cleanup();
    }
  });

  test("statelite: rootimgtree.gz from `find rootimg | cpio -H newc -o | gzip`, litefile.csv", async () => {
    const S = "sles15-x86_64-statelite-compute";
    const D = "/install/netboot/sles15/x86_64/compute";
    const src = join(work, "lite-src");
    makeRootTree(join(src, "rootimg"), { xattrs: false });
    sh(["sh", "-c", "find rootimg -print0 | cpio --null -H newc -o --quiet | gzip -c - > tree.gz"], src);
    const manifest = `<?xml version="1.0"?>
<xcatimage>
  <kernel>${D}/kernel</kernel>
  <linuximage>
    <imagename>${S}</imagename>
    <rootimgdir>${D}</rootimgdir>
  </linuximage>
  <litefile>${D}/litefile.csv</litefile>
  <osimage>
    <imagename>${S}</imagename>
    <osarch>x86_64</osarch>
    <osvers>sles15</osvers>
    <profile>compute</profile>
    <provmethod>statelite</provmethod>
  </osimage>
  <ramdisk>${D}/initrd-statelite.gz</ramdisk>
  <rootimgtree>${D}/rootimgtree.gz</rootimgtree>
</xcatimage>
`;
    const bundle = stage("xcat-statelite", {
      [`${S}/manifest.xml`]: manifest,
      [`${S}/kernel`]: "k",
      [`${S}/initrd-statelite.gz`]: Bun.gzipSync(Buffer.from("i")),
      [`${S}/rootimgtree.gz`]: readFileSync(join(src, "tree.gz")),
      [`${S}/litefile.csv`]: `"${S}","/etc/ssh/","persistent",,\n"${S}","/var/log/","tmpfs",,\n`,
    });
    const sb = new Sandbox("xcat-statelite");
    try {
      const r = await sb.run("import", bundle);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("The litetree and statelite tables are untouched. You can update them if needed.");
      const dir = join(sb.installdir, "netboot/sles15/x86_64/compute");
      expect(treeListing(join(dir, "rootimg"), { xattrs: false, skipDirMtime: true })).toBe(
        treeListing(join(src, "rootimg"), { xattrs: false, skipDirMtime: true }),
      );
      expect((await sb.run("table", "dump", "litefile")).stdout).toBe(
        ["#image,file,options,comments,disable", `"${S}","/etc/ssh/","persistent",,`, `"${S}","/var/log/","tmpfs",,`, ""].join("\n"),
      );
    } finally {
      sb.cleanup();
    }
  });

  test("a bundle with two image directories imports both, in one transaction", async () => {
    const two = XCAT_MANIFEST.replace(/compute/g, "login");
    const files = (name: string, xml: string, p: string) => ({
      [`${name}/manifest.xml`]: xml,
      [`${name}/kernel`]: `kernel-${p}`,
      [`${name}/initrd-stateless.gz`]: "i",
      [`${name}/rootimg.cpio.gz`]: "r",
      [`${name}/${p}.rhels8.x86_64.pkglist`]: "p",
      [`${name}/${p}.rhels8.x86_64.exlist`]: "e",
      [`${name}/extra/myscript1`]: "#!/bin/sh\n",
      [`${name}/extra/tmp/mydir/a.conf`]: "a\n",
    });
    const login = IMG.replace("compute", "login");
    const bundle = stage("xcat-two", { ...files(IMG, XCAT_MANIFEST, "compute"), ...files(login, two, "login") });
    const sb = new Sandbox("xcat-two");
    try {
      const r = await sb.run("import", bundle);
      expect(r.stderr).not.toContain("Error");
      expect(r.stdout).toBe(`Successfully imported the image ${IMG}.\nSuccessfully imported the image ${login}.\n`);
      expect(readFileSync(join(sb.installdir, "netboot/rhels8.5/x86_64/login/kernel"), "utf8")).toBe("kernel-login");
      expect(existsSync(join(sb.installdir, "postscripts/myscript1.ORIG"))).toBe(false); // the shared extra is placed once
    } finally {
      sb.cleanup();
    }
  });

  test("an xCAT 2.7 flat manifest", async () => {
    const legacy = readFileSync(join(import.meta.dir, "../core/bundle/golden/read-legacy-2.7.xml"), "utf8");
    const bundle = stage("xcat-27", {
      "myimage/manifest.xml": legacy,
      "myimage/kernel": "k",
      "myimage/initrd-stateless.gz": "i",
      "myimage/rootimg.gz": "r",
      "myimage/compute1.exlist": "e",
      "myimage/compute1.pkglist": "p",
      "myimage/compute1.list": "s",
      "myimage/extra/myscript1": "#!/bin/sh\n",
    });
    const sb = new Sandbox("xcat-27");
    try {
      const r = await sb.run("import", bundle);
      expect(r.stderr).not.toContain("Error");
      expect(r.code).toBe(0);
      const show = (await sb.run("image", "show", "myimage")).stdout;
      expect(show).toContain("    netdrivers=e1000");
      expect(show).toContain(`    synclists=${sb.installdir}/custom/netboot/sles/compute1.list`);
      expect(readFileSync(join(sb.installdir, "netboot/sles12/ppc64le/compute1/rootimg.gz"), "utf8")).toBe("r");
    } finally {
      sb.cleanup();
    }
  });

  test("seed 001 manifest.cfg bundles: netboot (rootimg.gz expanded) and install", async () => {
    const tree = join(work, "cfg-tree");
    makeRootTree(tree, { xattrs: false });
    sh(["sh", "-c", `find . -print0 | cpio --null -H newc -o --quiet | gzip > ${work}/cfg-rootimg.gz`], tree);
    const netboot = stage("cfg-netboot", {
      "manifest.cfg":
        "name Foo_Stateless\nos rhels5.4\narch x86_64\nprofile foo\nmethod netboot\ninitrd initrd.gz\nkernel kernel\nrootimg rootimg.gz\nextra my_cool_postscript:/install/postscripts\n",
      "initrd.gz": Bun.gzipSync(Buffer.from("i")),
      kernel: "k",
      "rootimg.gz": readFileSync(join(work, "cfg-rootimg.gz")),
      my_cool_postscript: "#!/bin/sh\n",
    });
    const install = stage("cfg-install", {
      "manifest.cfg": "name Foo_Image os rhels5.4 arch x86_64 profile foo method install template foo.tmpl media required",
      "foo.tmpl": "ks",
    });
    const sb = new Sandbox("cfg");
    try {
      const r = await sb.run("import", netboot);
      expect(r.stderr).not.toContain("Error");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("Successfully imported the image Foo_Stateless.\n");
      const dir = join(sb.installdir, "netboot/rhels5.4/x86_64/foo");
      expect(readFileSync(join(dir, "initrd-stateless.gz"))).toEqual(Buffer.from(Bun.gzipSync(Buffer.from("i"))));
      expect(existsSync(join(dir, "rootimg.gz"))).toBe(true);
      expect(treeListing(join(dir, "rootimg"), { xattrs: false, skipDirMtime: true })).toBe(treeListing(tree, { xattrs: false, skipDirMtime: true }));
      expect(readFileSync(join(sb.installdir, "postscripts/my_cool_postscript"), "utf8")).toBe("#!/bin/sh\n");
      const media = await sb.run("import", install);
      expect(media.code).toBe(65);
      expect(media.stderr).toContain("This image requires that you first copy media for rhels5.4-x86_64");
      mkdirSync(join(sb.installdir, "rhels5.4/x86_64"), { recursive: true });
      expect((await sb.run("import", install)).code).toBe(0);
      expect((await sb.run("image", "show", "Foo_Image")).stdout).toContain(`    template=${sb.installdir}/custom/install/rh/foo.tmpl`);
    } finally {
      sb.cleanup();
    }
  });
});

describe("bundles xcimg exports are what xCAT's imgimport expects", () => {
  test("member layout of `tar czf <bundle> .`, manifest bytes, checksum file last", async () => {
    const sb = new Sandbox("layout");
    try {
      const img = await makeNetboot(sb);
      await sb.run("node", "set", "cn1", "groups=compute");
      await sb.run("table", "set", "postscripts", "node=xcatdefaults", "postscripts=syslog,remoteshell", "postbootscripts=otherpkgs");
      await sb.run("table", "set", "postscripts", "node=cn1", "postscripts=myscript1");
      const I = sb.installdir;
      mkdirSync(join(I, "postscripts"), { recursive: true });
      writeFileSync(join(I, "postscripts/myscript1"), "#!/bin/sh\n");
      mkdirSync(join(sb.dir, "mydir/sub"), { recursive: true });
      writeFileSync(join(sb.dir, "mydir/sub/b.conf"), "b\n");
      const bundle = join(sb.dir, "out.tgz");
      const r = await sb.run("export", img.name, bundle, "-p", "cn1", "-e", `${I}/postscripts/myscript1`, "-e", `${sb.dir}/mydir:/usr/mydir`);
      expect(r.code).toBe(0);
      const rel = sb.dir.slice(1);
      const members = sh(["tar", "tzf", bundle]).trim().split("\n");
      expect(members).toEqual([
        "./",
        `./${img.name}/`,
        `./${img.name}/manifest.xml`,
        `./${img.name}/extra/`,
        ...rel.split("/").map((_, i, parts) => `./${img.name}/extra/${parts.slice(0, i + 1).join("/")}/`),
        `./${img.name}/kernel`,
        `./${img.name}/initrd-stateless.gz`,
        `./${img.name}/rootimg.cpio.gz`,
        `./${img.name}/compute.rhels8.x86_64.pkglist`,
        `./${img.name}/compute.synclist`,
        `./${img.name}/compute.postinstall`,
        `./${img.name}/compute.exlist`,
        `./${img.name}/extra/myscript1`,
        `./${img.name}/extra/${rel}/mydir/`,
        `./${img.name}/extra/${rel}/mydir/sub/`,
        `./${img.name}/extra/${rel}/mydir/sub/b.conf`,
        `./${img.name}/xcimg.sha256`,
      ]);
      const D = img.dir;
      const C = `${I}/custom/netboot/rh`;
      expect(sh(["tar", "xzOf", bundle, `./${img.name}/manifest.xml`])).toBe(`<?xml version="1.0"?>
<xcatimage>
  <extra>
    <dest>${I}/postscripts</dest>
    <src>${I}/postscripts/myscript1</src>
  </extra>
  <extra>
    <dest>/usr/mydir</dest>
    <src>${sb.dir}/mydir</src>
  </extra>
  <kernel>${D}/kernel</kernel>
  <linuximage>
    <exlist>${C}/compute.exlist</exlist>
    <imagename>${img.name}</imagename>
    <netdrivers>virtio_net,e1000</netdrivers>
    <pkgdir>${I}/rhels8.5/x86_64</pkgdir>
    <pkglist>${C}/compute.rhels8.x86_64.pkglist</pkglist>
    <postinstall>${C}/compute.postinstall</postinstall>
    <rootimgdir>${D}</rootimgdir>
  </linuximage>
  <osimage>
    <imagename>${img.name}</imagename>
    <imagetype>linux</imagetype>
    <osarch>x86_64</osarch>
    <osname>Linux</osname>
    <osvers>rhels8.5</osvers>
    <profile>compute</profile>
    <provmethod>netboot</provmethod>
    <synclists>${C}/compute.synclist</synclists>
  </osimage>
  <postbootscripts>otherpkgs</postbootscripts>
  <postscripts>syslog,remoteshell,myscript1</postscripts>
  <ramdisk>${D}/initrd-stateless.gz</ramdisk>
  <rootimg>${D}/rootimg.cpio.gz</rootimg>
</xcatimage>
`);
      // an unpacked bundle checks with sha256sum, as docs/bundles.md says
      const out = join(sb.dir, "unpacked");
      mkdirSync(out);
      sh(["tar", "xzf", bundle, "-C", out]);
      expect(sh(["sha256sum", "-c", "xcimg.sha256"], join(out, img.name))).toContain("kernel: OK");
    } finally {
      sb.cleanup();
    }
  });

  test("statelite: imgimport's own steps (tar zxf; zcat rootimgtree.gz | cpio -idum) rebuild the tree", async () => {
    const sb = new Sandbox("xcat-steps");
    try {
      const img = await makeStatelite(sb);
      const bundle = join(sb.dir, "lite.tgz");
      expect((await sb.run("export", img.name, bundle)).code).toBe(0);
      const out = join(sb.dir, "imgimport");
      mkdirSync(out);
      sh(["tar", "zxf", bundle, "-C", out]);
      const unpacked = join(sb.dir, "unpacked");
      mkdirSync(unpacked);
      sh(["sh", "-c", `zcat ${join(out, img.name, "rootimgtree.gz")} | cpio -idum --quiet`], unpacked);
      const listing = (d: string) => treeListing(d, { xattrs: false, skipDirMtime: true });
      expect(listing(join(unpacked, "rootimg"))).toBe(listing(join(img.dir, "rootimg")));
      expect(readFileSync(join(out, img.name, "litefile.csv"), "utf8")).toStartWith(`"${img.name}","/etc/adjtime","tmpfs",,`);
    } finally {
      sb.cleanup();
    }
  });

  test("xCAT's validation messages, all at once", async () => {
    const sb = new Sandbox("export-errors");
    try {
      await sb.run("table", "set", "osimage", "imagename=broken", "imagetype=linux");
      const r = await sb.run("export", "broken");
      expect(r.code).toBe(65);
      expect(r.stderr).toBe(
        [
          "Error: The 'provmethod' field is not set for 'broken' in the osimage table.",
          "Error: The 'profile' field is not set for 'broken' in the osimage table.",
          "Error: The 'osvers' field is not set for 'broken' in the osimage table.",
          "Error: The 'osarch' field is not set for 'broken' in the osimage table.",
          "Error: Cannot find image 'broken' from the linuximage table.",
          "",
        ].join("\n"),
      );
      expect((await sb.run("export", "nope")).stderr).toContain("Cannot find image 'nope' from the osimage table.");
      await sb.run("image", "set", "nb", "provmethod=netboot", "osvers=rhels8.5", "osarch=x86_64", "profile=p");
      const files = await sb.run("export", "nb", join(sb.dir, "nb.tgz"), "-p", "ghost", "-e", "/nonexistent/file");
      expect(files.code).not.toBe(0);
      expect(files.stderr).toContain("Error: Couldn't find ramdisk (initrd-stateless.gz) for  nb");
      expect(files.stderr).toContain("Error: Couldn't find kernel (kernel) for  nb");
      expect(files.stderr).toContain("Error: Couldn't find compressed rootimg for nb");
      expect(files.stderr).toContain("Can not find Extra file /nonexistent/file.");
      expect(existsSync(join(sb.dir, "nb.tgz"))).toBe(false);
      expect(
        sh(["ls", "-a", sb.dir])
          .split("\n")
          .filter((f) => f.includes("xcimg-")),
      ).toEqual([]);
    } finally {
      sb.cleanup();
    }
  });
});
