import { createHash } from "node:crypto";
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Sandbox } from "./sandbox";

/**
 * Real image files for bundle tests, laid out where xCAT keeps them, and a tree listing that
 * compares owners, modes, link targets, device numbers, contents and xattrs/ACLs.
 */
export function sh(cmd: string[], cwd?: string): string {
  const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${p.stderr.toString()}`);
  return p.stdout.toString();
}

function write(path: string, data: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data, { mode });
  chmodSync(path, mode);
}

function pseudoRandom(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A small root filesystem with what a real one has: owners, setuid, symlinks, a device node. */
export function makeRootTree(dir: string, opts: { xattrs: boolean }): void {
  write(join(dir, "etc/hostname"), "golden\n");
  write(join(dir, "etc/shadow"), "root:*:19000:0:99999:7:::\n", 0o640);
  write(join(dir, "usr/bin/tool"), pseudoRandom(70_000, 7), 0o755);
  write(join(dir, "usr/bin/su"), pseudoRandom(2000, 9), 0o4755);
  write(join(dir, "home/user/notes.txt"), "hello\n");
  chownSync(join(dir, "home/user"), 1234, 5678);
  chownSync(join(dir, "home/user/notes.txt"), 1234, 5678);
  write(join(dir, "usr/bin/wall"), pseudoRandom(500, 11), 0o2755);
  chownSync(join(dir, "usr/bin/wall"), 0, 5);
  chmodSync(join(dir, "usr/bin/wall"), 0o2755);
  symlinkSync("/usr/bin/tool", join(dir, "usr/bin/tool-abs"));
  symlinkSync("tool", join(dir, "usr/bin/tool-rel"));
  mkdirSync(join(dir, "tmp"), { mode: 0o1777 });
  chmodSync(join(dir, "tmp"), 0o1777);
  mkdirSync(join(dir, "dev"));
  sh(["mknod", "-m", "600", join(dir, "dev/console"), "c", "5", "1"]);
  write(join(dir, "weird name\\with\nnewline"), "x");
  if (opts.xattrs) {
    linkSync(join(dir, "usr/bin/tool"), join(dir, "usr/bin/tool-hard"));
    sh(["mkfifo", join(dir, "dev/initctl")]);
    sh(["setcap", "cap_net_raw+ep", join(dir, "usr/bin/tool")]);
    sh(["setfattr", "-n", "user.note", "-v", "kept", join(dir, "etc/hostname")]);
    sh(["setfacl", "-m", "u:1234:r", join(dir, "etc/shadow")]);
  }
}

/** path type mode uid gid size content-hash link rdev, one line per entry, sorted; plus getfattr's dump. */
export function treeListing(root: string, opts: { xattrs: boolean; skipDirMtime?: boolean } = { xattrs: false }): string {
  const lines: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = lstatSync(p);
      const type = st.isDirectory()
        ? "d"
        : st.isSymbolicLink()
          ? "l"
          : st.isFile()
            ? "f"
            : st.isCharacterDevice()
              ? "c"
              : st.isBlockDevice()
                ? "b"
                : st.isFIFO()
                  ? "p"
                  : "?";
      const extra =
        type === "f"
          ? createHash("sha256").update(readFileSync(p)).digest("hex").slice(0, 16)
          : type === "l"
            ? readlinkSync(p)
            : type === "c" || type === "b"
              ? String(st.rdev)
              : "";
      const mtime = type === "d" && opts.skipDirMtime ? "" : type === "l" ? "" : String(Math.floor(st.mtimeMs / 1000));
      lines.push(
        [JSON.stringify(r), type, (st.mode & 0o7777).toString(8), st.uid, st.gid, type === "f" ? st.size : "", extra, type === "f" ? st.nlink : "", mtime].join(
          " ",
        ),
      );
      if (type === "d") walk(r);
    }
  };
  walk("");
  let out = lines.join("\n");
  if (opts.xattrs) out += `\n--xattrs--\n${sh(["getfattr", "-R", "-h", "-d", "-m", "-", "."], root)}`;
  return out;
}

export const OSVERS = "rhels8.5";
export const ARCH = "x86_64";

export interface SiteImage {
  name: string;
  dir: string;
}

function listFiles(sb: Sandbox, profile: string, kind: "netboot" | "install"): { pkglist: string; exlist: string; synclists: string; postinstall: string } {
  const base = join(sb.installdir, "custom", kind, "rh");
  const files = {
    pkglist: join(base, `${profile}.rhels8.x86_64.pkglist`),
    exlist: join(base, `${profile}.exlist`),
    synclists: join(base, `${profile}.synclist`),
    postinstall: join(base, `${profile}.postinstall`),
  };
  write(files.pkglist, "bash\nopenssh-server\n");
  write(files.exlist, "./usr/share/man*\n");
  write(files.synclists, "/etc/hosts -> /etc/hosts\n");
  write(files.postinstall, "#!/bin/sh\necho post\n", 0o755);
  return files;
}

async function set(sb: Sandbox, name: string, attrs: Record<string, string>): Promise<void> {
  const r = await sb.run("image", "set", name, ...Object.entries(attrs).map(([k, v]) => `${k}=${v}`));
  if (r.code !== 0) throw new Error(`image set: ${r.stderr}`);
}

export async function makeNetboot(sb: Sandbox, profile = "compute"): Promise<SiteImage> {
  const name = `${OSVERS}-${ARCH}-netboot-${profile}`;
  const dir = join(sb.installdir, "netboot", OSVERS, ARCH, profile);
  write(join(dir, "kernel"), pseudoRandom(200_000, 1));
  write(join(dir, "initrd-stateless.gz"), Bun.gzipSync(pseudoRandom(50_000, 2)));
  makeRootTree(join(dir, "rootimg"), { xattrs: false });
  sh(["sh", "-c", "find . -print0 | cpio --null -H newc -o --quiet | gzip > ../rootimg.cpio.gz"], join(dir, "rootimg"));
  const lists = listFiles(sb, profile, "netboot");
  await set(sb, name, {
    provmethod: "netboot",
    osvers: OSVERS,
    osarch: ARCH,
    profile,
    rootimgdir: dir,
    pkglist: lists.pkglist,
    exlist: lists.exlist,
    postinstall: lists.postinstall,
    synclists: lists.synclists,
    pkgdir: join(sb.installdir, OSVERS, ARCH),
    netdrivers: "virtio_net,e1000",
  });
  return { name, dir };
}

export async function makeStatelite(sb: Sandbox, profile = "compute"): Promise<SiteImage> {
  const name = `${OSVERS}-${ARCH}-statelite-${profile}`;
  const dir = join(sb.installdir, "netboot", OSVERS, ARCH, profile);
  write(join(dir, "kernel"), pseudoRandom(200_000, 3));
  write(join(dir, "initrd-statelite.gz"), Bun.gzipSync(pseudoRandom(50_000, 4)));
  makeRootTree(join(dir, "rootimg"), { xattrs: false });
  const lists = listFiles(sb, profile, "netboot");
  await set(sb, name, { provmethod: "statelite", osvers: OSVERS, osarch: ARCH, profile, rootimgdir: dir, pkglist: lists.pkglist, rootfstype: "nfs" });
  for (const [image, file, options] of [
    ["ALL", "/etc/adjtime", "tmpfs"],
    ["ALL", "/var/log/", ""],
    [name, "/etc/ssh/", "persistent"],
    [name, "/var/log/", "tmpfs,rw"],
    ["other-image", "/opt/other", "tmpfs"],
  ] as const) {
    const r = await sb.run("table", "set", "litefile", `image=${image},file=${file}`, `options=${options}`);
    if (r.code !== 0) throw new Error(`table set litefile: ${r.stderr}`);
  }
  return { name, dir };
}

export async function makeSysclone(sb: Sandbox, name = "golden-sysclone"): Promise<SiteImage> {
  const dir = join(sb.installdir, "sysclone", "images", name);
  makeRootTree(dir, { xattrs: true });
  await set(sb, name, { provmethod: "sysclone", osvers: OSVERS, osarch: ARCH, profile: "compute" });
  return { name, dir };
}

export async function makeInstall(sb: Sandbox, profile = "compute"): Promise<SiteImage> {
  const name = `${OSVERS}-${ARCH}-install-${profile}`;
  const tmpl = join(sb.installdir, "custom", "install", "rh", `${profile}.tmpl`);
  write(tmpl, "#kickstart for #TABLE:nodelist:$NODE:node#\n");
  const lists = listFiles(sb, profile, "install");
  await set(sb, name, { provmethod: "install", osvers: OSVERS, osarch: ARCH, profile, pkglist: lists.pkglist, osdistroname: `${OSVERS}-${ARCH}` });
  return { name, dir: dirname(tmpl) };
}

/** `table dump` of the image tables (rows of `image` only), with site A's installdir written as site B's. */
export async function imageTables(sb: Sandbox, image: string, rewriteFrom?: string, rewriteTo?: string): Promise<string> {
  let out = "";
  for (const t of ["osimage", "linuximage", "litefile", "postscripts"]) {
    const r = await sb.run("table", "dump", t);
    out += r.stdout
      .split("\n")
      .filter((l) => l.startsWith("#") || l.startsWith(`"${image}",`))
      .join("\n");
    out += "\n";
  }
  return rewriteFrom && rewriteTo ? out.split(rewriteFrom).join(rewriteTo) : out;
}
