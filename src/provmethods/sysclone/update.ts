import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Context } from "../../core/context";
import type { Image } from "../../core/defs/image";
import { readNodes } from "../../core/defs/node";
import { CantCreateError, DataError, fsError, IOFailure, NotFoundError, XcimgError } from "../../core/errors";
import { isDir } from "../../core/fs/predicates";
import { rootImgDir } from "../../core/image/paths";
import { guardTree, nodeTop, setTop } from "../../core/image/tree-barrier";
import { NodeTrust } from "../../core/remote/node-ssh";
import { shq } from "../../core/remote/shell";
import { connect } from "../../core/remote/ssh";
import type { SshFlags } from "../../core/remote/target";
import { FIX_FILES } from "./node-plan";
import { groupsOf, overrideChain } from "./overrides";
import { cloneDir, overridesDir } from "./paths";

/**
 * `xcimg clone --update <noderange> -o <image>`: bring running clones up to date with a
 * re-captured image without reinstalling them, as SystemImager's si_updateclient and xCAT's
 * updatenode after sysclone do. rsync over SSH moves only what differs (owners, modes, xattrs,
 * ACLs, hardlinks, sparse files; `--delete` removes what the image no longer has) from the image
 * with the node's overrides laid over it (the same chain as at clone time), so overrides stay in
 * force; what makes the node itself — UPDATE_EXCLUDES: hostname, fstab, host keys, network
 * files, machine-id, its bootloader files, logs — is never touched. Afterwards the node's file
 * UUIDs are fixed as at clone time and, if /boot changed, its GRUB configuration is rebuilt with
 * the image's own tool. `--dry-run` lists what would change per node and changes nothing.
 *
 * rsync needs OpenSSH's client here as its transport (trusting only the node's xcimg host key)
 * and rsync on the node.
 */
export const UPDATE_EXCLUDES = [
  "/proc/*",
  "/sys/*",
  "/dev/*",
  "/run/*",
  "/tmp/*",
  "/var/tmp/*",
  "/mnt/*",
  "/media/*",
  "/lost+found",
  "/var/log/*",
  "/var/lib/xcimg/",
  "/var/lib/systemd/random-seed",
  "/var/lib/dhcp/*",
  "/var/lib/dhclient/*",
  "/var/lib/NetworkManager/*",
  "/etc/hostname",
  "/etc/hosts",
  "/etc/fstab",
  "/etc/crypttab",
  "/etc/machine-id",
  "/var/lib/dbus/machine-id",
  "/etc/ssh/ssh_host_*",
  "/etc/xcimg/",
  // the node's postscripts (xCAT nodes keep /xcatpost) and the first-boot unit that ran them
  "/xcatpost/",
  "/etc/systemd/system/xcimg-postbootscripts.service",
  "/etc/systemd/network/10-xcimg.network",
  "/etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
  "/etc/NetworkManager/system-connections/xcimg-*",
  "/etc/network/interfaces",
  "/root/.ssh/authorized_keys",
  "/etc/default/grub",
  "/etc/initramfs-tools/conf.d/resume",
  "/etc/kernel/cmdline",
  "/boot/grub/",
  "/boot/grub2/",
  "/boot/efi/",
  "/boot/loader/",
  "/xcatpost/",
];

/**
 * Paths an update never touches — neither updated nor deleted — whatever the image has there:
 * the node's logs, users' homes and scratch space. `--exclude-from FILE` adds more.
 */
export const PROTECTED_PATHS = ["/var/log", "/home", "/tmp", "/var/tmp"];

export interface UpdateRequest {
  nodes: string[];
  dryRun: boolean;
  ssh: SshFlags;
  /** Keep files the image no longer has (rsync without --delete). */
  noDelete?: boolean;
  /** Absolute paths, one a line (# comments), protected like PROTECTED_PATHS. */
  excludeFrom?: string;
}

export interface RsyncOptions {
  noDelete?: boolean;
  /** Literal paths left alone, with everything below them. */
  protect?: string[];
}

/** The --exclude-from file: absolute literal paths, one a line; blank lines and # comments skipped. */
export function readProtectedPaths(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw fsError(e, `cannot read ${file}`);
  }
  const out: string[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    if (!line.startsWith("/"))
      throw new DataError(`${file}:${i + 1}: '${line}' is not an absolute path`, { hint: "list the node's paths to protect, one a line, e.g. /opt/site-data" });
    out.push(line);
  }
  return out;
}

/** rsync's itemized changes, deletions first (what a dry run must show before anything else). */
export function deletionsFirst(changes: string[]): string[] {
  const del = changes.filter((c) => c.startsWith("*deleting"));
  return [...del, ...changes.filter((c) => !c.startsWith("*deleting"))];
}

export interface NodeUpdate {
  node: string;
  /** rsync's itemized changes (`>f.st...... usr/bin/x`, `*deleting   old`). */
  changes: string[];
  bootChanged: boolean;
  seconds: number;
}

export interface UpdateResult {
  image: string;
  dryRun: boolean;
  updated: NodeUpdate[];
  failed: Record<string, string>;
  lines: string[];
}

export async function updateNodes(ctx: Context, img: Image, req: UpdateRequest): Promise<UpdateResult> {
  const tree = rootImgDir(ctx.config, img);
  if (!Bun.which("rsync"))
    throw new CantCreateError("rsync is not installed on this management node: clone --update moves changed files with it", {
      hint: "install the rsync package",
    });
  if (!Bun.which("ssh"))
    throw new CantCreateError("the OpenSSH client (ssh) is not installed on this management node: rsync needs it", { hint: "install openssh-client" });
  if (!isDir(tree))
    throw new NotFoundError(`${tree} does not exist`, { hint: `capture the golden node first: 'xcimg capture <node> -t sysclone -o ${img.name}'` });
  guardTree(tree, ctx.log);
  const protect = [...PROTECTED_PATHS, ...(req.excludeFrom ? readProtectedPaths(req.excludeFrom) : [])];
  const attrs = readNodes(ctx.db(), req.nodes);
  const trust = new NodeTrust(ctx);
  const result: UpdateResult = { image: img.name, dryRun: req.dryRun, updated: [], failed: {}, lines: [] };
  const sources = new Map<string, string>();
  const work = join(cloneDir(ctx.config, img.name), ".update");
  try {
    for (const node of req.nodes) {
      const a = attrs.get(node);
      if (!a) {
        result.failed[node] = "is not a defined node";
        continue;
      }
      if (!trust.hasKey(node)) {
        result.failed[node] = "xcimg has no host key for this node: it was not cloned (or booted) by xcimg";
        continue;
      }
      try {
        const chain = overrideChain(ctx.config, img.name, groupsOf(a.groups), node);
        const key = chain.join("\n");
        let source = sources.get(key);
        if (!source) {
          // always a copy: rsync -a gives the node's / the source's top, and the tree's is the MN's 0700 barrier
          source = await mergedSource(
            tree,
            chain.map((n) => join(overridesDir(ctx.config), n)),
            join(work, hash(key)),
          );
          sources.set(key, source);
        }
        const started = performance.now();
        const target = trust.target(ctx, node, req.ssh);
        const session = await connect(target, { signal: ctx.signal });
        let changes: string[];
        let bootChanged = false;
        try {
          const probe = parseProbe((await session.run(PROBE, { signal: ctx.signal })).stdout.toString("utf8"));
          if (!probe.isClone)
            throw new NotFoundError("is not a clone made by xcimg (no /var/lib/xcimg/clone.json): --update only brings cloned diskful nodes up to date");
          changes = deletionsFirst(
            await rsync(ctx, source, `${target.user}@${target.host}:/`, trust.sshCommand(target), req.dryRun, probe.foreignMounts, {
              noDelete: req.noDelete,
              protect,
            }),
          );
          bootChanged = changes.some((c) => / boot\/[^/]+$/.test(c));
          if (!req.dryRun) {
            const r = await session.run(afterUpdateScript(img.name, bootChanged), { signal: ctx.signal });
            if (r.code !== 0)
              throw new IOFailure(
                `the files are updated, but fixing UUIDs or the bootloader configuration failed: ${r.stderr.trim().split("\n").slice(-2).join(" ")}`,
              );
          }
        } finally {
          session.close();
        }
        const u: NodeUpdate = { node, changes, bootChanged, seconds: (performance.now() - started) / 1000 };
        result.updated.push(u);
        const what = `${changes.length} change(s)${bootChanged ? ", /boot changed: GRUB configuration rebuilt" : ""}`;
        const deletions = changes.filter((c) => c.startsWith("*deleting")).length;
        result.lines.push(
          req.dryRun
            ? `${node}: would update (${changes.length} change(s), ${deletions} deletion(s) listed first):`
            : `${node}: updated from ${img.name}: ${what} in ${u.seconds.toFixed(1)} s`,
        );
        if (req.dryRun) result.lines.push(...changes.map((c) => `  ${c}`));
      } catch (e) {
        if (!(e instanceof XcimgError)) throw e;
        result.failed[node] = e.message;
      }
    }
  } finally {
    trust.close();
    rmSync(work, { recursive: true, force: true });
  }
  return result;
}

/**
 * The image with overrides laid over it: a hardlink copy (no data copied), override files
 * replacing links (tar unlinks before it writes, so the image's files are never written), and
 * directories the image has keeping their owner and mode, as at clone time (--no-overwrite-dir).
 * Its top gets the node's `/` (image/tree-barrier.ts), inside a 0700 directory.
 */
export async function mergedSource(tree: string, overrides: string[], dir: string): Promise<string> {
  rmSync(dir, { recursive: true, force: true });
  // the copy links the image's setuid programs and device nodes: keep it out of local users' reach
  mkdirSync(join(dir, ".."), { recursive: true, mode: 0o700 });
  chmodSync(join(dir, ".."), 0o700);
  await run(["cp", "-a", "-l", "-T", "--", tree, dir], `cannot make a hardlink copy of ${tree} in ${dir}`);
  const extract = "tar -x -f - -C \"$2\" --no-overwrite-dir --numeric-owner -p --same-owner --xattrs --xattrs-include='*' --acls";
  for (const ov of overrides) {
    await run(
      ["bash", "-c", `set -o pipefail; tar -c -f - -C "$1" --xattrs --acls . | ${extract}`, "bash", ov, dir],
      `cannot lay the override ${ov} over the image`,
    );
  }
  setTop(dir, nodeTop(tree));
  return dir;
}

/** Disk filesystems an update may write into; every other mount (nfs, lustre, gpfs, tmpfs, …) is left alone. */
const LOCAL_FS = new Set(["ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "f2fs", "jfs", "reiserfs"]);

const PROBE =
  "if [ -f /var/lib/xcimg/clone.json ]; then echo clone=yes; fi; findmnt -rn -o TARGET,SOURCE,FSTYPE 2>/dev/null || awk '{ print $2, $1, $3 }' /proc/mounts";

/**
 * What the node says before anything moves: is it a clone, and which of its mount points hold
 * filesystems that are not its own disk's (home directories over NFS, parallel filesystems,
 * tmpfs): rsync --delete would otherwise empty them, as the image has nothing there.
 */
export function parseProbe(out: string): { isClone: boolean; foreignMounts: string[] } {
  let isClone = false;
  const foreign: string[] = [];
  for (const line of out.split("\n")) {
    if (line === "clone=yes") {
      isClone = true;
      continue;
    }
    const [target, source, fstype] = line.split(" ");
    if (!target || !source || !fstype || target === "/") continue;
    // findmnt -r writes spaces and other odd bytes as \xNN, /proc/mounts as \NNN (octal)
    const path = target.replace(/\\x([0-9a-fA-F]{2})|\\([0-7]{3})/g, (_, h?: string, o?: string) =>
      String.fromCharCode(h ? Number.parseInt(h, 16) : Number.parseInt(o as string, 8)),
    );
    if (!(LOCAL_FS.has(fstype) && source.startsWith("/dev/"))) foreign.push(path);
  }
  return { isClone, foreignMounts: foreign };
}

/** An rsync exclude rule matching one literal path and everything under it. */
export function literalExclude(path: string): string {
  return `${path.replace(/[*?[\\]/g, (c) => `\\${c}`).replace(/\/+$/, "")}/***`;
}

export async function rsync(
  ctx: Pick<Context, "env">,
  source: string,
  dest: string,
  ssh: string[],
  dryRun: boolean,
  foreignMounts: string[] = [],
  opts: RsyncOptions = {},
): Promise<string[]> {
  const tmp = mkdtempSync(join(tmpdir(), "xcimg-update-"));
  const excludes = join(tmp, "excludes");
  writeFileSync(excludes, `${[...UPDATE_EXCLUDES, ...[...foreignMounts, ...(opts.protect ?? [])].map(literalExclude)].join("\n")}\n`);
  const argv = [
    "rsync",
    "-aHAXS",
    "--numeric-ids",
    ...(opts.noDelete ? [] : ["--delete"]),
    "--itemize-changes",
    `--exclude-from=${excludes}`,
    "-e",
    ssh.map((a) => shq(a)).join(" "),
  ];
  if (dryRun) argv.push("--dry-run");
  argv.push(`${source}/`, dest);
  try {
    const r = await run(argv, "", ctx.env, true);
    if (r.code !== 0 && r.code !== 24) {
      const why = /command not found|rsync: not found|No such file or directory.*rsync/.test(r.stderr)
        ? "rsync is not installed on the node"
        : r.stderr.trim().split("\n").slice(-3).join(" ");
      throw new IOFailure(`rsync to ${dest.replace(/:\/$/, "")} failed (exit ${r.code}): ${why}`);
    }
    // itemized lines; directory entries whose only change is their time are noise
    return r.stdout.split("\n").filter((l) => l && !/^\.d\.\.t\.\.\.\.\.\. /.test(l) && !/^\.d\s/.test(l));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * On the node after the files moved: new or updated files that name the golden node's
 * filesystems get the node's UUIDs (the map clone left in /var/lib/xcimg/clone.json), the GRUB
 * configuration is rebuilt when kernels changed, and the update is recorded.
 */
export function afterUpdateScript(image: string, bootChanged: boolean): string {
  return `set -e
f=/var/lib/xcimg/clone.json
pairs=$(sed -n 's/.*"uuids": {\\(.*\\)}.*/\\1/p' "$f" 2>/dev/null | tr ',' '\\n' | sed -n 's/^ *"\\([^"]*\\)": *"\\([^"]*\\)".*/\\1=\\2/p')
for rel in ${FIX_FILES.join(" ")}; do
  for file in /$rel; do
    [ -f "$file" ] && [ ! -L "$file" ] || continue
    for p in $pairs; do sed -i "s/\${p%%=*}/\${p#*=}/g" "$file"; done
  done
done
${bootChanged ? `mk=$(sed -n 's/.*"mkconfig": *"\\([^"]*\\)".*/\\1/p' "$f"); [ -n "$mk" ] && sh -c "$mk" >/dev/null 2>&1` : ":"}
mkdir -p /var/lib/xcimg
printf 'image=%s\\nupdated=%s\\n' ${shq(image)} "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/var/lib/xcimg/update.status
`;
}

function hash(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 12);
}

function run(
  argv: string[],
  failMsg: string,
  env?: Record<string, string | undefined>,
  keep = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env, LC_ALL: "C" } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
    });
    p.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 65536) stderr += d.toString("utf8");
    });
    p.on("error", (e) => reject(new IOFailure(`${failMsg || argv[0]}: ${e.message}`)));
    p.on("close", (code) => {
      if (code !== 0 && !keep) reject(new IOFailure(`${failMsg}: ${stderr.trim().split("\n").slice(-2).join(" ")}`));
      else resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
