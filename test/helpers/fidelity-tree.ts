import { closeSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * A directory tree holding every case a root filesystem copy must get right (issue #3's
 * fidelity list), and a field-by-field comparison of two trees. Run as root.
 */
function sh(cmd: string, cwd: string): void {
  const r = Bun.spawnSync(["/bin/sh", "-c", cmd], { cwd, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`fixture: '${cmd}' failed: ${r.stderr.toString()}`);
}

const B = (s: string) => Buffer.from(s, "latin1");

export const NEWLINE_NAME = "name\nwith newline";
export const BAD_UTF8_NAME = B("bad\xff\xfename");
const GiB = 1024 ** 3;

/** Write `data` at each offset of a file that is otherwise a hole of `size` bytes. */
function sparse(path: string, size: number, chunks: [number, string][]): void {
  const fd = openSync(path, "w", 0o644);
  for (const [off, s] of chunks) writeSync(fd, Buffer.from(s.repeat(4096)), 0, 4096 * s.length, off);
  closeSync(fd);
  sh(`truncate -s ${size} '${path}'`, "/");
}

export function makeFidelityTree(root: string): void {
  mkdirSync(root, { recursive: true });
  const p = (...parts: string[]) => join(root, ...parts);
  for (const d of [
    "etc/ssh",
    "usr/bin",
    "usr/lib",
    "var/spool",
    "var/lib/dhcp",
    "var/lib/systemd",
    "data",
    "tmp",
    "dev",
    "proc",
    "boot",
    "lib/modules/6.1.0-9-amd64",
    "srv/links/a",
    "srv/links/b",
  ]) {
    mkdirSync(p(d), { recursive: true });
  }
  writeFileSync(p("etc/os-release"), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n');
  writeFileSync(p("etc/hostname"), "golden\n");
  writeFileSync(p("etc/machine-id"), "0123456789abcdef0123456789abcdef\n", { mode: 0o444 });
  writeFileSync(p("etc/ssh/ssh_host_ed25519_key"), "PRIVATE\n", { mode: 0o600 });
  writeFileSync(p("etc/ssh/ssh_host_ed25519_key.pub"), "ssh-ed25519 AAAA golden\n");
  writeFileSync(p("etc/ssh/sshd_config"), "PermitRootLogin prohibit-password\n");
  writeFileSync(p("var/lib/dhcp/dhclient.eth0.leases"), "lease {}\n");
  writeFileSync(p("var/lib/systemd/random-seed"), "seed", { mode: 0o600 });
  writeFileSync(p("boot/vmlinuz-6.1.0-9-amd64"), "kernel");
  writeFileSync(p("boot/initrd.img-6.1.0-9-amd64"), "initrd");
  // excluded by xCAT's default list: the directories stay, their contents do not
  writeFileSync(p("tmp/junk"), "scratch");
  writeFileSync(p("dev/not-a-device"), "x");
  writeFileSync(p("proc/stale"), "x");

  // numeric owners that exist in no passwd file, modes with setuid/setgid/sticky
  writeFileSync(p("data/owned"), "owned by 1234:5678\n");
  sh("chown 1234:5678 data/owned && chown 4321:8765 data && chmod 0750 data", root);
  writeFileSync(p("usr/bin/suid"), "#!/bin/sh\n");
  sh("chown 0:0 usr/bin/suid && chmod 4755 usr/bin/suid", root);
  writeFileSync(p("usr/bin/sgid-user"), "#!/bin/sh\n");
  sh("chown 1000:1000 usr/bin/sgid-user && chmod 6755 usr/bin/sgid-user", root); // node-tar drops these bits
  sh("chmod 1777 var/spool && chmod 0000 etc/hostname", root);
  mkdirSync(p("data/private"), { mode: 0o700 });
  mkdirSync(p("data/empty"));

  // symlinks: relative, absolute, dangling, with their own owner
  symlinkSync("../../etc/os-release", p("usr/lib/os-release"));
  symlinkSync("/etc/hostname", p("data/abs-link"));
  symlinkSync("does/not/exist", p("data/dangling"));
  sh("chown -h 1234:5678 data/dangling", root);

  // hardlinks across directories
  writeFileSync(p("srv/links/a/one"), "linked content\n");
  linkSync(p("srv/links/a/one"), p("srv/links/b/two"));
  linkSync(p("srv/links/a/one"), p("srv/links/three"));

  // xattrs of every namespace, file capabilities, an SELinux label, POSIX ACLs (access + default)
  writeFileSync(p("usr/bin/ping"), "ping binary\n", { mode: 0o755 });
  sh("setcap cap_net_raw=ep usr/bin/ping", root);
  sh("setfattr -n security.selinux -v system_u:object_r:ping_exec_t:s0 usr/bin/ping", root);
  sh("setfattr -n user.comment -v 'hello world' data/owned && setfattr -n trusted.xcimg -v 0x00ff01 data/owned", root);
  sh("setfacl -m u:1234:rwx,g:5678:r-x,m::rwx data/owned", root);
  sh("setfacl -m u:4321:rwx data/private && setfacl -d -m u:4321:rwx,g:8765:r-x data/private", root);

  // special files and names
  sh("mkfifo -m 0640 data/fifo && mknod -m 0666 data/null c 1 3", root);
  writeFileSync(p(`data/${NEWLINE_NAME}`), "newline in name\n");
  writeFileSync(Buffer.concat([B(`${root}/data/`), BAD_UTF8_NAME]), "invalid utf-8 name\n");

  // sparse files: a small one and one past 4 GiB
  sparse(p("data/sparse"), 64 * 1024 * 1024, [
    [0, "a"],
    [32 * 1024 * 1024, "b"],
  ]);
  sparse(p("data/big-sparse"), 5 * GiB, [
    [4096, "c"],
    [Math.floor(4.5 * GiB), "d"],
  ]);

  // mtimes with nanoseconds, set last (children first) so directories keep theirs
  sh("touch -h -d '1999-12-31 23:59:59.123456789' data/abs-link data/owned", root);
  sh("touch -d '2001-02-03 04:05:06.5' data/private data/empty srv/links", root);
}

export interface Entry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  mtimeNs: bigint;
  rdev: number;
  blocks: number;
  nlink: number;
  ino: bigint;
  target?: string;
  /** sha256 of the content of regular files up to CONTENT_LIMIT bytes. */
  sha?: string;
}

/** Bigger files (the 5 GiB sparse one) are checked by their tests at known offsets instead. */
const CONTENT_LIMIT = 256 * 1024 * 1024;

/** Every entry under root, keyed by its path (latin1, so any byte sequence is a key). */
export function walk(root: string, skip: (rel: string) => boolean = () => false): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const visit = (rel: Buffer) => {
    const abs = Buffer.concat([Buffer.from(root, "utf8"), rel.length ? B("/") : B(""), rel]);
    const st = lstatSync(abs, { bigint: true });
    const key = rel.length ? rel.toString("latin1") : ".";
    if (skip(key)) return;
    const type = st.isDirectory()
      ? "dir"
      : st.isSymbolicLink()
        ? "symlink"
        : st.isFile()
          ? "file"
          : st.isFIFO()
            ? "fifo"
            : st.isCharacterDevice()
              ? "chr"
              : st.isBlockDevice()
                ? "blk"
                : "other";
    out.set(key, {
      type,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: type === "dir" ? 0n : st.size,
      mtimeNs: st.mtimeNs,
      rdev: Number(st.rdev),
      blocks: Number(st.blocks),
      nlink: Number(st.nlink),
      ino: st.ino,
      target: type === "symlink" ? (readlinkSync(abs, { encoding: "buffer" }) as Buffer).toString("latin1") : undefined,
      sha: type === "file" && st.size <= CONTENT_LIMIT ? sha256(abs) : undefined,
    });
    if (type === "dir") for (const n of readdirSync(abs, { encoding: "buffer" }) as Buffer[]) visit(rel.length ? Buffer.concat([rel, B("/"), n]) : n);
  };
  visit(Buffer.alloc(0));
  return out;
}

function sha256(path: Buffer): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

/** getfattr/getfacl dumps of a tree, one block per file, sorted so readdir order does not matter. */
function dump(cmd: string[], root: string): string[] {
  const r = Bun.spawnSync(cmd, { cwd: root, stderr: "pipe" });
  const text = r.stdout.toString("latin1");
  return text
    .split("\n\n")
    .map((b) => b.trim())
    .filter((b) => b !== "")
    .sort();
}

export const xattrDump = (root: string) => dump(["getfattr", "-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", "."], root);
export const aclDump = (root: string) => dump(["getfacl", "-R", "-P", "-n", "."], root);

/**
 * Differences between two trees, field by field, including hardlink groups, and the
 * xattr/ACL dumps. An empty list means identical.
 */
/**
 * A tree closed by image/tree-barrier.ts (top root:root 0700, the node's / recorded in
 * .<tree>.node-mode): its "." entry takes the recorded mode and owner, so a comparison with the
 * golden node checks what the node will get. Returns whether the barrier was there.
 */
function barrierTop(dst: string, top: Entry | undefined): boolean {
  if (!top || (top.mode & 0o7777) !== 0o700 || top.uid !== 0 || top.gid !== 0) return false;
  let text: string;
  try {
    text = readFileSync(join(dirname(dst), `.${basename(dst)}.node-mode`), "utf8");
  } catch {
    return false;
  }
  const m = /^mode=0?([0-7]+) uid=(\d+) gid=(\d+)/.exec(text);
  if (!m) return false;
  top.mode = (top.mode & ~0o7777) | Number.parseInt(m[1] as string, 8);
  top.uid = Number(m[2]);
  top.gid = Number(m[3]);
  return true;
}

export function compareTrees(
  src: string,
  dst: string,
  opts: { skip?: (rel: string) => boolean; ignoreRootMtime?: boolean; mtimeSeconds?: boolean; ignoreBlocks?: boolean } = {},
): string[] {
  const a = walk(src, opts.skip);
  const b = walk(dst, opts.skip);
  // an image tree's top is the MN's root:root 0700 barrier; the node's / is what capture recorded beside it
  const barred = barrierTop(dst, b.get("."));
  const diffs: string[] = [];
  const show = (k: string) => JSON.stringify(k);
  for (const [k, ea] of a) {
    const eb = b.get(k);
    if (!eb) {
      diffs.push(`missing in copy: ${show(k)}`);
      continue;
    }
    for (const f of ["type", "mode", "uid", "gid", "size", "mtimeNs", "rdev", "target", "blocks", "sha"] as const) {
      if (f === "mtimeNs" && k === "." && opts.ignoreRootMtime) continue;
      if (f === "blocks" && (ea.type !== "file" || opts.ignoreBlocks)) continue;
      let [va, vb] = [ea[f], eb[f]];
      if (f === "mtimeNs" && opts.mtimeSeconds) [va, vb] = [ea.mtimeNs / 1_000_000_000n, eb.mtimeNs / 1_000_000_000n];
      if (va !== vb) diffs.push(`${show(k)}: ${f} ${String(va)} != ${String(vb)}`);
    }
  }
  for (const k of b.keys()) if (!a.has(k)) diffs.push(`extra in copy: ${show(k)}`);
  const groups = (m: Map<string, Entry>) => {
    const byIno = new Map<bigint, string[]>();
    for (const [k, e] of m) if (e.type !== "dir" && e.nlink > 1) byIno.set(e.ino, [...(byIno.get(e.ino) ?? []), k].sort());
    return [...byIno.values()]
      .filter((g) => g.length > 1)
      .map((g) => g.join(" = "))
      .sort();
  };
  const ga = groups(a);
  const gb = groups(b);
  if (JSON.stringify(ga) !== JSON.stringify(gb)) diffs.push(`hardlink groups differ: ${JSON.stringify(ga)} != ${JSON.stringify(gb)}`);
  const filterDump = (blocks: string[]) =>
    blocks.filter((blk) => {
      const rel = blk.split("\n")[0]?.replace(/^# file: (\.\/)?/, "") || ".";
      return !opts.skip?.(rel) && !(barred && rel === ".");
    });
  for (const [name, fn] of [
    ["xattrs", xattrDump],
    ["ACLs", aclDump],
  ] as const) {
    const da = filterDump(fn(src));
    const db = filterDump(fn(dst));
    const onlyA = da.filter((x) => !db.includes(x));
    const onlyB = db.filter((x) => !da.includes(x));
    if (onlyA.length || onlyB.length) diffs.push(`${name} differ: source-only ${JSON.stringify(onlyA)}, copy-only ${JSON.stringify(onlyB)}`);
  }
  return diffs;
}
