import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { openDb } from "../../src/core/db/open";
import { LOADER_FILES } from "../../src/core/dhcp/loaders";
import { allMethodFacts } from "../../src/core/provmethod/facts";
import type { ProvMethodName } from "../../src/core/provmethod/names";
import { imageTables, makeRootTree, treeListing } from "../helpers/bundle-sites";
import { goldenGpt } from "../helpers/clone-layouts";
import { fakeRhelMedia } from "../helpers/fake-media";
import { Sandbox } from "../helpers/sandbox";

/**
 * The provmethod contract, run for every registered method the way unstorage's testDriver()
 * runs for every driver: an image of the method, made on one sandbox site, goes through the
 * real CLI — `export` there, `import` on a second, empty site (the same rows and files come
 * back), the command that writes a node's boot files where the method boots (`boot`, or
 * `clone` for sysclone), and `image rm --files`, after which nothing of the image is left in
 * installdir or tftpdir. A registered method without a fixture here fails: adding a
 * provmethod means saying how to make one of its images.
 */
interface Fixture {
  /** Define an image of the method on site `a`, as the method's own commands leave one; returns its name. */
  make(a: Sandbox): Promise<string>;
  /** What site `b` needs before the image arrives (media, nodes). */
  prepare(b: Sandbox): Promise<void>;
  /** The CLI that writes node cn01's boot files for the image, and what it prints. */
  boot: (image: string) => { argv: string[]; stdout: RegExp };
}

const KVER = "6.1.0-test-amd64";

async function ok(sb: Sandbox, ...argv: string[]): Promise<string> {
  const r = await sb.run(...argv);
  if (r.code !== 0) throw new Error(`xcimg ${argv.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

function put(path: string, data: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data, { mode });
}

/** The debian cloud kernel's modules tree (scripts/fixtures.sh) is not needed: boot picks NIC/NFS modules from modules.dep. */
function kernelAndModules(rootimg: string): void {
  put(join(rootimg, `boot/vmlinuz-${KVER}`), "kernel\n");
  const m = join(rootimg, `lib/modules/${KVER}`);
  for (const k of ["drivers/net/virtio_net.ko", "fs/nfs/nfs.ko", "net/sunrpc/sunrpc.ko"]) put(join(m, "kernel", k), `module ${k}\n`);
  put(join(m, "modules.dep"), "kernel/drivers/net/virtio_net.ko:\nkernel/net/sunrpc/sunrpc.ko:\nkernel/fs/nfs/nfs.ko: kernel/net/sunrpc/sunrpc.ko\n");
  put(join(m, "modules.alias"), "");
}

async function bootNode(b: Sandbox): Promise<void> {
  await ok(b, "node", "set", "cn01", "groups=compute,all", "arch=x86_64", "netboot=xnba", "mac=52:54:00:00:00:01", "nfsserver=10.0.0.9", "xcatmaster=10.0.2.2");
}

function sshKey(sb: Sandbox): void {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "root@mn", "-f", join(sb.dir, "mn_key")]);
}

const SSH = '[ssh]\nidentity = "mn_key"';

const FIXTURES: Record<ProvMethodName, Fixture> = {
  install: {
    async make(a) {
      const media = join(a.installdir, "rhels9.4", "x86_64");
      fakeRhelMedia(media);
      await ok(a, "image", "media", media);
      return "rhels9.4-x86_64-install-compute";
    },
    async prepare(b) {
      fakeRhelMedia(join(b.installdir, "rhels9.4", "x86_64"));
      await ok(b, "table", "set", "passwd", "key=system,username=root", "password=cluster");
      await ok(b, "table", "set", "site", "key=timezone", "value=Europe/Berlin");
      await ok(b, "table", "set", "site", "key=domain", "value=cluster.example");
      await bootNode(b);
    },
    boot: (image) => ({ argv: ["boot", "cn01", "-o", image], stdout: /^cn01: install rhels9\.4-x86_64-compute\n$/ }),
  },
  netboot: {
    async make(a) {
      const image = "deb12-x86_64-netboot-compute";
      await ok(a, "image", "set", image, "provmethod=netboot", "osvers=deb12", "osarch=x86_64", "profile=compute");
      const rootimg = join(a.installdir, "netboot/deb12/x86_64/compute/rootimg");
      makeRootTree(rootimg, { xattrs: false });
      kernelAndModules(rootimg);
      await ok(a, "pack", image);
      return image;
    },
    prepare: bootNode,
    boot: (image) => ({ argv: ["boot", "cn01", "-o", image], stdout: /^cn01: netboot deb12-x86_64-compute\n$/ }),
  },
  statelite: {
    async make(a) {
      const image = "deb12-x86_64-statelite-compute";
      await ok(a, "image", "set", image, "provmethod=statelite", "osvers=deb12", "osarch=x86_64", "profile=compute");
      const dir = join(a.installdir, "netboot/deb12/x86_64/compute");
      makeRootTree(join(dir, "rootimg"), { xattrs: false });
      kernelAndModules(join(dir, "rootimg"));
      await ok(a, "table", "set", "litefile", `image=${image},file=/etc/hostname`, "options=tmpfs");
      await ok(a, "table", "set", "litefile", `image=${image},file=/var/log/`, "options=persistent");
      await ok(a, "table", "set", "statelite", "node=compute", "statemnt=10.0.0.9:/nodedata");
      await ok(a, "lite", image);
      // the kernel next to rootimg/ and initrd-statelite.gz are what imgexport carries (boot builds the initrd)
      copyFileSync(join(dir, `rootimg/boot/vmlinuz-${KVER}`), join(dir, "kernel"));
      await bootNode(a);
      await ok(a, "boot", "cn01", "-o", image);
      return image;
    },
    async prepare(b) {
      await ok(b, "table", "set", "statelite", "node=compute", "statemnt=10.0.0.9:/nodedata");
      await bootNode(b);
    },
    boot: (image) => ({ argv: ["boot", "cn01", "-o", image], stdout: /^cn01: statelite deb12-x86_64-compute\n$/ }),
  },
  sysclone: {
    async make(a) {
      const image = "golden-sysclone";
      const tree = join(a.installdir, "sysclone/images", image);
      makeRootTree(tree, { xattrs: true });
      kernelAndModules(tree);
      cloneTools(tree);
      await ok(a, "image", "set", image, "provmethod=sysclone", "osvers=deb12", "osarch=x86_64", "profile=compute", `rootimgdir=${tree}`);
      recordDiskLayout(a, image);
      return image;
    },
    prepare: bootNode,
    // the disk plan is the golden node's, carried in the bundle's capture record
    boot: (image) => ({
      argv: ["clone", "cn01", "-o", image],
      stdout: /GPT on a 2\.5 GiB disk:[\s\S]*\ncn01: sysclone deb12-x86_64 \(job [^)]+\): clones itself at its next network boot\n$/,
    }),
  },
};

/** The programs clone runs from the image (src/provmethods/sysclone/image-tools.ts), as empty executables. */
function cloneTools(tree: string): void {
  for (const t of [
    "sfdisk",
    "blkid",
    "mkfs.ext4",
    "mkfs.vfat",
    "mkswap",
    "grub-install",
    "update-grub",
    "grub-mkconfig",
    "update-initramfs",
    "efibootmgr",
    "partprobe",
  ])
    put(join(tree, "usr/sbin", t), "#!/bin/sh\n", 0o755);
  for (const t of ["wget", "curl", "zstd", "gzip", "tar", "busybox"]) put(join(tree, "usr/bin", t), "#!/bin/sh\n", 0o755);
  put(join(tree, "usr/lib/systemd/systemd"), "#!/bin/sh\n", 0o755);
  mkdirSync(join(tree, "usr/lib/grub/x86_64-efi"), { recursive: true });
  mkdirSync(join(tree, "usr/lib/grub/i386-pc"), { recursive: true });
  put(join(tree, "etc/os-release"), 'ID=debian\nVERSION_ID="12"\n');
}

/** What `capture -t sysclone` records of the golden node's disk (the GPT record of the golden VM), as capture writes it. */
function recordDiskLayout(sb: Sandbox, image: string): void {
  const { layout, entries } = goldenGpt();
  const db = openDb(sb.dbUrl ?? sb.dbPath);
  const now = new Date().toISOString();
  try {
    db.run(
      `INSERT INTO xcimg_capture ("imagename", "node", "address", "type", "tree", "started", "finished", "seconds", "level", "osvers", "osarch", "disk_layout", "files") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      image,
      "golden",
      "10.0.2.15",
      "sysclone",
      join(sb.installdir, "sysclone/images", image),
      now,
      now,
      1,
      "full",
      "deb12",
      "x86_64",
      JSON.stringify(layout),
      entries,
    );
  } finally {
    db.close();
  }
}

/** A placed file as the node would see it: type, mode, owner, size, content, link target, mtime (not its link count: boot hard-links files into tftpdir). */
function fileFacts(p: string): string {
  const st = lstatSync(p);
  const what = st.isSymbolicLink() ? `-> ${readlinkSync(p)}` : createHash("sha256").update(readFileSync(p)).digest("hex");
  return `${(st.mode & 0o170777).toString(8)} ${st.uid}:${st.gid} ${st.size} ${what} ${Math.floor(st.mtimeMs / 1000)}`;
}

/** Every file, link and special below `dir` (relative), directories left out. */
function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (lstatSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanup.reverse()) c();
});

describe("provmethod contract", () => {
  test("every registered provmethod has a contract fixture", () => {
    const names = allMethodFacts().map((f) => f.name);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(Object.keys(FIXTURES), `add a fixture for provmethod '${n}' to test/provmethods/contract.test.ts`).toContain(n);
  });

  for (const facts of allMethodFacts()) {
    const fx = FIXTURES[facts.name];
    describe(facts.name, () => {
      const a = new Sandbox(`contract-${facts.name}-a`, SSH);
      const b = new Sandbox(`contract-${facts.name}-b`, SSH);
      cleanup.push(
        () => a.cleanup(),
        () => b.cleanup(),
      );
      let image = "";
      let placed: string[] = [];

      test("export → import: the importing site gets the same rows and the same files", async () => {
        sshKey(a);
        sshKey(b);
        image = await fx.make(a);
        const bundle = join(a.dir, `${image}.tgz`);
        const e = await a.run("export", image, bundle);
        expect(e.code, e.stderr).toBe(0);
        await fx.prepare(b);
        const i = await b.run("--json", "import", bundle);
        expect(i.code, i.stderr).toBe(0);
        const result = JSON.parse(i.stdout) as { images: { image: string; provmethod: string; files: string[] }[] };
        expect(result.images.map((x) => [x.image, x.provmethod])).toEqual([[image, facts.name]]);
        placed = (result.images[0] as { files: string[] }).files;
        expect(placed.length).toBeGreaterThan(0);
        expect(await imageTables(b, image)).toBe(await imageTables(a, image, a.installdir, b.installdir));
        // every file or tree the import placed is the exporting site's, byte for byte, with owners and modes
        for (const p of placed) {
          expect(p.startsWith(`${b.installdir}/`), p).toBe(true);
          const from = join(a.installdir, relative(b.installdir, p));
          if (lstatSync(p).isDirectory())
            expect(treeListing(p, { xattrs: true, skipDirMtime: true }), p).toBe(treeListing(from, { xattrs: true, skipDirMtime: true }));
          else if (existsSync(from)) expect(fileFacts(p), p).toEqual(fileFacts(from));
          else {
            // made for the bundle by the export (litefile.csv): what was carried is what was placed
            const carried = execFileSync("tar", ["-xzOf", bundle, `./${image}/${basename(p)}`]);
            expect(readFileSync(p).equals(carried), p).toBe(true);
          }
        }
      });

      test("a node's boot files are written where the method boots", async () => {
        expect(image, "the round trip made no image").not.toBe("");
        const { argv, stdout } = fx.boot(image);
        const before = new Set(filesBelow(b.tftpdir));
        const r = await b.run(...argv);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(stdout);
        const written = filesBelow(b.tftpdir).filter((f) => !before.has(f));
        expect(written).toContain("xcat/xnba/nodes/cn01");
        expect(written.filter((f) => f.startsWith(`xcat/osimage/${image}/`)).length, written.join("\n")).toBeGreaterThan(0);
      });

      test("image rm --files leaves nothing of the image in installdir or tftpdir", async () => {
        expect(image, "the round trip made no image").not.toBe("");
        const r = await b.run("image", "rm", image, "--files", "--force");
        expect(r.code, r.stderr).toBe(0);
        expect((await b.run("image", "show", image)).code).toBe(66);
        // what stays is the site's, not the image's: its lists and media (xCAT's rmimage keeps
        // them), the node's own boot files, and xcimg's state
        const mine = (f: string) =>
          !f.startsWith("custom/") &&
          !f.startsWith("rhels9.4/") &&
          !f.startsWith(".xcimg/") &&
          !f.includes("cn01") &&
          !f.startsWith("xcat/xnba/nodes/") &&
          !LOADER_FILES.includes(f); // the first-stage loaders boot publishes (core/dhcp/loaders.ts)
        expect(filesBelow(b.installdir).filter(mine)).toEqual([]);
        expect(filesBelow(b.tftpdir).filter(mine)).toEqual([]);
        for (const p of placed) if (!p.startsWith(join(b.installdir, "custom"))) expect(existsSync(p), p).toBe(false);
      });
    });
  }
});
