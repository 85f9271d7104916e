import { lstatSync, mkdirSync, readlinkSync, rmdirSync } from "node:fs";
import { fsError } from "../errors";

/**
 * The management node's GNU tar extracts an archive the golden node wrote, into a tree that
 * holds the node's previous capture (base/ or a hardlink copy of the live tree). GNU tar
 * follows symbolic links in the middle of member names ("./x/file" with "x -> /some/dir" from
 * the previous capture, as Debian's own "var/run -> /run"), in hard link targets ("./leak" a
 * link to "x/secret") and when it purges what a directory's incremental listing (GNU.dumpdir)
 * no longer names. Unconfined, a hostile node could write, link in or delete files anywhere on
 * this machine as root.
 *
 * So the extracting tar never sees this machine's filesystem: it runs in a private mount
 * namespace, chrooted into a small read-only tmpfs ("jail") that holds
 *   /usr, /bin, /sbin, /lib*   read-only bind mounts (what tar and its libraries need), or the
 *                              same symlinks as on this machine where /usr is merged
 *   /t                         the tree being built, bind-mounted read-write (nosuid, nodev)
 * and nothing else: no /etc, /root, /home, /var, /run, /tmp, /proc, /dev. Every path, absolute
 * or relative, a symlink included, resolves inside the jail: a write outside /t hits a
 * read-only mount (EROFS) or a missing directory (ENOENT), a hard link out of /t crosses a
 * mount (EXDEV), and tar exits non-zero, which fails the capture (stream.ts). Within /t a
 * node can only rearrange its own image. `--numeric-owner` means tar needs no /etc/passwd;
 * LC_ALL=C means no locale files; it reads the archive from stdin.
 *
 * unshare(1) and chroot(8) are util-linux and coreutils, both on every management node; the
 * namespace needs CAP_SYS_ADMIN (xcimg capture runs as root). The mounts disappear with the
 * process: nothing is left to unmount if xcimg is killed, only the empty jail directory, which
 * recoverLeftovers() removes.
 */
export const JAIL_TREE = "/t";

const SCRIPT = `
j=$1; t=$2; shift 2
fail() { echo "xcimg-confine: $*" >&2; exit 125; }
tar=$(command -v tar) || fail "no tar on this management node"
case "$tar" in /usr/*|/bin/*|/sbin/*) ;; *) fail "tar is $tar, outside /usr, /bin and /sbin";; esac
mount -t tmpfs -o mode=0755,size=1m,nosuid,nodev,noexec xcimg-jail "$j" || fail "cannot mount a tmpfs on $j"
mkdir "$j/t" "$j/usr" || fail "cannot prepare $j"
mount --bind -o nosuid,nodev "$t" "$j/t" || fail "cannot bind $t"
mount --bind -o ro,nosuid,nodev /usr "$j/usr" || fail "cannot bind /usr read-only"
for d in /bin /sbin /lib /lib32 /lib64 /libx32; do
  if [ -L "$d" ]; then ln -s "$(readlink "$d")" "$j$d" || fail "cannot link $d"
  elif [ -d "$d" ]; then mkdir "$j$d" && mount --bind -o ro,nosuid,nodev "$d" "$j$d" || fail "cannot bind $d read-only"
  fi
done
mount -o remount,ro,nosuid,nodev,noexec "$j" || fail "cannot make $j read-only"
exec chroot "$j" "$tar" "$@"
`;

/** Exit status of the confining script when it could not set the jail up. */
export const CONFINE_FAILED = 125;
/** Prefix of its messages on stderr. */
export const CONFINE_MESSAGE = "xcimg-confine: ";

/** The empty directory the jail's tmpfs is mounted on (inside the namespace only). */
export function makeJailDir(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (e) {
    throw fsError(e, `cannot create ${path}`);
  }
}

/** Remove it; only ever an empty directory outside the namespace, so rmdir, never rm -r. */
export function removeJailDir(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // already gone, or (impossible outside the namespace) not empty: leave it for a human
  }
}

/** argv that runs `tar <tarArgs>` confined to `tree` (seen by tar as /t), using `jail` as the mount point. */
export function confinedTarArgv(jail: string, tree: string, tarArgs: string[]): string[] {
  return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", SCRIPT, "xcimg-confine", jail, tree, ...tarArgs];
}

/** A member whose path went through a symbolic link of the tree: what the node tried to reach. */
export interface Redirect {
  /** The member as tar named it, "./" removed (a hard link's with its target). */
  member: string;
  /** The symbolic link on its way, relative to the tree, and where it points. */
  link: string;
  to: string;
}

/**
 * After the confined tar failed: did it fail because a member's path (or a hard link's target)
 * runs through a symbolic link in the tree? GNU tar never archives a path through a symlink,
 * so that is a crafted stream, and the error should say so, naming the member. `lines` are
 * tar's messages ("tar: ./x/file: Cannot open: ...", "Cannot hard link to 'x/secret'").
 */
export function findRedirect(tree: string, lines: string[]): Redirect | null {
  for (const line of lines) {
    const m = /^tar: (.+?): (?:Cannot|Could not|Directory renamed|Not a directory)/.exec(line);
    const member = m ? (m[1] as string).replace(/^(\.\/)+/, "") : null;
    const target = /Cannot hard link to '(.+)'/.exec(line)?.[1];
    if (member) {
      const found = symlinkOnPath(tree, member);
      if (found) return { member, ...found };
    }
    if (target) {
      const found = symlinkOnPath(tree, target.replace(/^(\.\/)+/, ""));
      if (found) return { member: `${member ?? "?"} (a hard link to ${target})`, ...found };
    }
  }
  return null;
}

function symlinkOnPath(tree: string, rel: string): { link: string; to: string } | null {
  const parts = rel.split("/").filter((p) => p !== "" && p !== ".");
  let cur = tree;
  // every component but the last: the last one is what tar was creating
  for (let i = 0; i < parts.length - 1; i++) {
    cur = `${cur}/${parts[i]}`;
    try {
      if (lstatSync(cur).isSymbolicLink()) return { link: parts.slice(0, i + 1).join("/"), to: readlinkSync(cur) };
    } catch {
      return null;
    }
  }
  return null;
}
