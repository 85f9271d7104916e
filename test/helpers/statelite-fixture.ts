import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * A small root image with what statelite has to cope with: nested directories, a 0600 file
 * owned by uid 1234 with an old mtime and a user xattr, a relative symlinked directory
 * (var/run -> ../run), an absolute symlink (etc/localtime -> /usr/share/zoneinfo/UTC, which
 * must resolve inside the image, not on this machine), an fstab with an xCAT root line, and a
 * dracut leftover in /tmp.
 */
export function makeImageRoot(root: string): void {
  const file = (p: string, text: string, mode = 0o644) => {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
    chmodSync(join(root, p), mode);
  };
  const dir = (p: string) => mkdirSync(join(root, p), { recursive: true });
  file("etc/hosts", "127.0.0.1 localhost\n");
  file("etc/motd", "welcome\n");
  file("etc/issue", "Debian GNU/Linux 12\n");
  file("etc/banner", "default banner\n");
  file("etc/profile.local", "export A=1\n");
  file("etc/resolv.conf", "nameserver 10.0.0.1\n");
  file("etc/fstab", "compute_x86_64 / tmpfs rw 0 1\nproc /proc proc rw 0 0\n");
  file("etc/mtab", "rootfs / rootfs rw 0 0\n");
  file("etc/sysconfig/clock", "ZONE=UTC\n");
  file("etc/sysconfig/network", "NETWORKING=yes\n");
  file("etc/ssh/ssh_host_key", "secret\n", 0o600);
  file("etc/ssh/sshd_config", "PermitRootLogin yes\n");
  file("usr/share/zoneinfo/UTC", "TZif-fake-utc\n");
  symlinkSync("/usr/share/zoneinfo/UTC", join(root, "etc/localtime"));
  file("var/log/messages", "log line\n");
  file("var/log/dmesg", "dmesg\n");
  file("var/lib/app/state", "v1\n");
  file("run/daemon.pid", "42\n");
  symlinkSync("../run", join(root, "var/run"));
  file("root/.bashrc", "alias ll='ls -l'\n");
  file("root/.profile", "PATH=/usr/bin\n");
  file("root/.ssh/authorized_keys", "ssh-ed25519 AAAA test\n", 0o600);
  file("opt/data/ref.txt", "reference\n");
  dir("tmp/dracut.abc123");
  file("tmp/dracut.abc123/junk", "x\n");
  dir("home");

  normaliseDirs(root);
  const key = join(root, "etc/ssh/ssh_host_key");
  chownSync(key, 1234, 1234);
  utimesSync(key, new Date("2001-02-03T04:05:06Z"), new Date("2001-02-03T04:05:06Z"));
  Bun.spawnSync(["setfattr", "-n", "user.xcimg", "-v", "kept", key]);
  const bashrc = join(root, "root/.bashrc");
  chownSync(bashrc, 1234, 100);
  utimesSync(bashrc, new Date("2002-01-01T00:00:00Z"), new Date("2002-01-01T00:00:00Z"));
  Bun.spawnSync(["setfattr", "-n", "user.xcimg", "-v", "bashrc", bashrc]);
}

/** The litefile rows used by the golden tests: every option and every parent/child shape. */
export const LITEFILE_ROWS: [image: string, file: string, options: string][] = [
  ["ALL", "/etc/hosts", ""], // empty options: tmpfs,rw -> link
  ["ALL", "/etc/resolv.conf", "tmpfs,rw"], // -> link
  ["ALL", "/etc/motd", "tmpfs"],
  ["ALL", "/etc/issue", "ro"],
  ["ALL", "/etc/profile.local", "con"],
  ["ALL", "/etc/banner", "link,con"],
  ["ALL", "/etc/localtime", "link"], // absolute symlink: content from inside the image
  ["ALL", "/etc/sysconfig/", "rw"], // non-link parent ...
  ["ALL", "/etc/sysconfig/clock", "tmpfs"], // ... with a non-link child
  ["ALL", "/etc/sysconfig/network", "link"], // ... and a link child (xCAT's dead check allows it)
  ["ALL", "/etc/ssh/", "tmpfs"],
  ["ALL", "/var/log/", "persistent"], // persistent parent ...
  ["ALL", "/var/log/messages", "persistent"], // ... persistent child
  ["ALL", "/var/lib/app/", "link,persistent"],
  ["ALL", "/var/run/", "link"], // a relative symlink to a directory
  ["ALL", "/root/", "link"], // link parent with link-based children
  ["ALL", "/root/.bashrc", "link,persistent"],
  ["ALL", "/root/.profile", "link,con"],
  ["ALL", "/root/.ssh/", "link"],
  ["ALL", "/root/.cache/", "link"], // absent child directory: placeholder in .default
  ["ALL", "/opt/data/", "ro"],
  ["ALL", "/opt/tools/ref", "link,ro"], // absent: placeholder
  ["ALL", "/scratch/", "localdisk"], // absent directory: created
  ["ALL", "/srv/new.conf", "tmpfs"], // absent file in an absent directory: created
];

/**
 * One line per path below root, sorted: type, mode, path, then the symlink target or the
 * content of a small file. Timestamps are left out (created entries get "now").
 */
export function listTree(root: string): string {
  const lines: string[] = [];
  const walk = (rel: string) => {
    const names = readdirSync(join(root, rel)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const n of names) {
      const p = rel ? `${rel}/${n}` : n;
      const full = join(root, p);
      const st = lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
      if (st.isSymbolicLink()) lines.push(`l ${mode} /${p} -> ${readlinkSync(full)}`);
      else if (st.isDirectory()) {
        lines.push(`d ${mode} /${p}`);
        walk(p);
      } else if (st.isFile()) {
        const body = st.size <= 64 ? ` ${JSON.stringify(readFileSync(full, "utf8"))}` : " (large)";
        lines.push(`f ${mode} /${p}${body}`);
      } else lines.push(`? ${mode} /${p}`);
    }
  };
  walk("");
  return `${lines.join("\n")}\n`;
}

/** owner, mode, mtime and the user.xcimg xattr of a path (lstat). */
export function metadata(p: string): string {
  const st = lstatSync(p);
  const x = Bun.spawnSync(["getfattr", "--only-values", "-n", "user.xcimg", p]);
  return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)} ${st.mtime.toISOString()} xattr=${x.exitCode === 0 ? x.stdout.toString() : "-"}`;
}

/** 0755 for every directory, whatever the umask of the test run. */
function normaliseDirs(root: string): void {
  chmodSync(root, 0o755);
  for (const n of readdirSync(root)) {
    const p = join(root, n);
    const st = lstatSync(p);
    if (st.isDirectory()) normaliseDirs(p);
  }
}
