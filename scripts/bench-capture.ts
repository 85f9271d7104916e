#!/usr/bin/env bun
/**
 * Capture benchmark: xcimg capture against the obvious alternatives, in the same run, over a
 * real sshd on 127.0.0.1 (sshd, the node-side tar and the management side all share this
 * machine's CPUs, so read the ratios, not the absolute numbers).
 *
 *   full capture of a ~1 GB tree (about 56,000 files: copies of /usr/share, /usr/bin, /usr/sbin
 *   and the Python libraries, setuid programs and file capabilities included):
 *     xcimg capture  vs  ssh node tar c | tar x  vs  rsync -aHAXS --numeric-ids
 *   re-capture after changing 1% of the files:
 *     xcimg capture (incremental)  vs  rsync in place  vs  rsync --link-dest (atomic, like xcimg)
 *
 * After each xcimg capture, `image show --manifest` is timed on its own: capture leaves the
 * manifest's tree digest due (src/core/provenance/pending.ts) and that is where it is paid,
 * once, when first needed; the capture rows do not include it (nor did the alternatives' rows
 * ever include a digest).
 *
 * Every copy is checked against the source afterwards (contents, metadata, xattrs, ACLs).
 * The copies are written to a tmpfs mounted in a private mount namespace (the script re-runs
 * itself under `unshare -m`): on this machine's virtual disk the same extraction takes
 * anywhere from 5 to 45 s (bun.md), which would drown the differences being measured.
 * Writes docs/bench/capture.md.   Usage: bun scripts/bench-capture.ts [--runs N] [--out FILE]
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { compareTrees } from "../test/helpers/fidelity-tree";
import { Sandbox } from "../test/helpers/sandbox";
import { Sshd } from "../test/helpers/sshd";

const ROOT = join(import.meta.dir, "..");
if (!process.env.XCIMG_BENCH_TMPFS) {
  // re-run inside a private mount namespace with a tmpfs for every copy we make
  const dir = join(ROOT, ".cache/bench/tmpfs");
  mkdirSync(dir, { recursive: true });
  const inner = `mount -t tmpfs -o size=10g,mode=1777 xcimg-bench '${dir}' && exec env XCIMG_BENCH_TMPFS='${dir}' TMPDIR='${dir}' '${process.execPath}' '${import.meta.path}' "$@"`;
  const r = Bun.spawnSync(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", inner, "sh", ...process.argv.slice(2)], {
    stdout: "inherit",
    stderr: "inherit",
  });
  process.exit(r.exitCode ?? 1);
}
const SRC = join(ROOT, ".cache/bench/capture-src");
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;

function sh(cmd: string): string {
  const r = Bun.spawnSync(["/bin/bash", "-c", cmd], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`'${cmd}' failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

async function time(what: string, fn: () => Promise<void> | void): Promise<number> {
  const t = performance.now();
  await fn();
  const s = (performance.now() - t) / 1000;
  console.error(`  ${what}: ${s.toFixed(2)} s`);
  return s;
}

function ensureSource(): void {
  if (existsSync(join(SRC, ".complete"))) return;
  console.error(`building the source tree in ${SRC} (once)`);
  rmSync(SRC, { recursive: true, force: true });
  mkdirSync(join(SRC, "usr/lib"), { recursive: true });
  mkdirSync(join(SRC, "etc"), { recursive: true });
  sh(`cp -a /usr/share /usr/bin /usr/sbin '${SRC}/usr/' && cp -a /usr/lib/python3 /usr/lib/python3.11 '${SRC}/usr/lib/'`);
  writeFileSync(join(SRC, "etc/os-release"), "ID=debian\nVERSION_ID=12\n");
  writeFileSync(join(SRC, ".complete"), "");
}

/** Every 100th regular file (from `offset`) gets one more byte: 1% of the files change. */
function changeOnePercent(offset: number): number {
  const files = sh(`cd '${SRC}' && find . -type f ! -name .complete | LC_ALL=C sort`).split("\n").filter(Boolean);
  let n = 0;
  for (let i = offset; i < files.length; i += 100) {
    appendFileSync(join(SRC, files[i] as string), "x");
    n++;
  }
  return n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

ensureSource();
const files = Number(sh(`find '${SRC}' -type f | wc -l`).trim());
const bytes = Number(sh(`du -sb '${SRC}' | cut -f1`).trim());
console.error(`source: ${files} files, ${(bytes / 1e9).toFixed(2)} GB; warming the page cache`);
sh(`tar -C '${SRC}' -cf /dev/null .`);

const sshd = await Sshd.start();
const sb = new Sandbox("bench-capture", ["[ssh]", `identity = "${sshd.clientKey}"`, `known_hosts = "${sshd.knownHosts}"`, `port = ${sshd.port}`].join("\n"));
const ssh = `ssh -i ${sshd.clientKey} -p ${sshd.port} -o UserKnownHostsFile=${sshd.knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
const FID = "--numeric-owner --xattrs --xattrs-include='*' --acls";
const tree = join(sb.installdir, "netboot/debian12/x86_64/compute/rootimg");
const tarDest = join(sb.dir, "tar-pipe");
const rsyncDest = join(sb.dir, "rsync");
const rsyncCmd = (dest: string, extra = "") => `rsync -aHAXS --numeric-ids --delete ${extra} -e '${ssh}' root@127.0.0.1:'${SRC}/' '${dest}/'`;

async function xcimg(expectLevel: string): Promise<void> {
  const r = await sb.run("--json", "-q", "capture", "127.0.0.1", "-t", "diskless", "--rootdir", SRC, "--keep-identity");
  if (r.code !== 0) throw new Error(r.stderr);
  const level = JSON.parse(r.stdout).level;
  if (level !== expectLevel) throw new Error(`expected a ${expectLevel} capture, got ${level}`);
}

/** The first command that needs the manifest computes the deferred tree digest. */
async function firstManifest(): Promise<void> {
  const r = await sb.run("--json", "image", "show", "debian12-x86_64-netboot-compute", "--manifest");
  if (r.code !== 0) throw new Error(r.stderr);
  if (!JSON.parse(r.stdout).manifest.tree?.sha256) throw new Error("the manifest has no tree digest");
}

const wipeXcimg = () => {
  for (const n of existsSync(join(tree, "..")) ? readdirSync(join(tree, "..")) : []) rmSync(join(tree, "..", n), { recursive: true, force: true });
};

const full = { xcimg: [] as number[], tar: [] as number[], rsync: [] as number[], manifest: [] as number[] };
const re = { xcimg: [] as number[], rsync: [] as number[], linkDest: [] as number[], manifest: [] as number[] };
let changed = 0;
const fidelity: string[] = [];
try {
  for (let run = 1; run <= RUNS; run++) {
    console.error(`full capture, run ${run}/${RUNS}`);
    wipeXcimg();
    rmSync(tarDest, { recursive: true, force: true });
    rmSync(rsyncDest, { recursive: true, force: true });
    sh("sync");
    full.xcimg.push(await time("xcimg capture", () => xcimg("full")));
    full.manifest.push(await time("then image show --manifest (deferred digest)", firstManifest));
    sh("sync");
    mkdirSync(tarDest);
    full.tar.push(
      await time("ssh tar c | tar x", () => void sh(`${ssh} root@127.0.0.1 "tar -C '${SRC}' ${FID} --sparse -cf - ." | tar -C '${tarDest}' -xpf - ${FID}`)),
    );
    sh("sync");
    full.rsync.push(await time("rsync -aHAXS", () => void sh(rsyncCmd(rsyncDest))));
    sh("sync");
  }
  for (let run = 1; run <= RUNS; run++) {
    changed = changeOnePercent(run);
    console.error(`re-capture after changing ${changed} files (1%), run ${run}/${RUNS}`);
    sh("sync");
    re.xcimg.push(await time("xcimg capture (incremental)", () => xcimg("incremental")));
    re.manifest.push(await time("then image show --manifest (deferred digest)", firstManifest));
    sh("sync");
    const prev = join(sb.dir, `rsync-prev-${run}`);
    const next = join(sb.dir, `rsync-next-${run}`);
    sh(`cp -al '${rsyncDest}' '${prev}'`); // an unchanged copy to link against
    sh("sync");
    re.linkDest.push(await time("rsync --link-dest (new tree)", () => void sh(rsyncCmd(next, `--link-dest='${prev}'`))));
    sh("sync");
    re.rsync.push(await time("rsync in place", () => void sh(rsyncCmd(rsyncDest))));
    rmSync(prev, { recursive: true, force: true });
    rmSync(next, { recursive: true, force: true });
    sh("sync");
  }
  console.error("checking every copy against the source");
  const diffs = {
    xcimg: compareTrees(SRC, tree, { ignoreRootMtime: true }),
    // rsync -S turns runs of zeros in ordinary files into holes: same content, fewer blocks
    rsync: compareTrees(SRC, rsyncDest, { ignoreRootMtime: true, ignoreBlocks: true }),
  };
  // reported in the file, then fatal: a failed check must not throw the timings away
  for (const [k, d] of Object.entries(diffs)) if (d.length) fidelity.push(`${k} copy differs from the source: ${d.slice(0, 5).join("; ")}`);
} finally {
  await sshd.stop();
  sb.cleanup();
}

const m = (xs: number[]) => median(xs);
const rate = (s: number) => `${(bytes / 1e6 / s).toFixed(0)} MB/s`;
const ratio = (a: number, b: number) => (a / b).toFixed(2);
const lines = [
  "# Capture benchmark",
  "",
  `Generated by \`bun scripts/bench-capture.ts --runs ${RUNS}\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB RAM,`,
  `${sh("tar --version | head -1").trim()}, ${sh("rsync --version | head -1").trim().replace(/\s+/g, " ")}, ${sh("ssh -V 2>&1").trim()}.`,
  `Source: ${files.toLocaleString("en")} files, ${(bytes / 1e9).toFixed(2)} GB (copies of /usr/share, /usr/bin, /usr/sbin and the Python libraries; page cache warm),`,
  "read by a real sshd on 127.0.0.1 and written to a tmpfs (the virtual disk of this machine varies 5-45 s for the same",
  "write, bun.md). The node side (sshd, tar or rsync) and the management side share the same 2 CPUs, so the ratios",
  "matter more than the absolute numbers. Median of the runs.",
  "",
  "## Full capture",
  "",
  "| method | seconds | throughput | xcimg ÷ method |",
  "|---|---|---|---|",
  `| **xcimg capture** (ssh2, node's GNU tar → local GNU tar, pax + xattrs + ACLs + sparse, incremental snapshot) | ${m(full.xcimg).toFixed(2)} | ${rate(m(full.xcimg))} | 1.00 |`,
  `| \`ssh node tar c \\| tar x\` (OpenSSH default cipher, same tar options) | ${m(full.tar).toFixed(2)} | ${rate(m(full.tar))} | ${ratio(m(full.xcimg), m(full.tar))} |`,
  `| \`rsync -aHAXS --numeric-ids\` | ${m(full.rsync).toFixed(2)} | ${rate(m(full.rsync))} | ${ratio(m(full.xcimg), m(full.rsync))} |`,
  "",
  `Then the first \`image show --manifest\` (the tree digest, deferred from the capture, paid once when first needed): ${m(full.manifest).toFixed(2)} s.`,
  "",
  `## Re-capture after changing 1% of the files (${changed} files get one more byte)`,
  "",
  "| method | seconds | xcimg ÷ method | leaves the previous copy usable until done |",
  "|---|---|---|---|",
  `| **xcimg capture** (incremental: tar --listed-incremental into the kept previous tree, atomic swap) | ${m(re.xcimg).toFixed(2)} | 1.00 | yes |`,
  `| \`rsync -aHAXS --numeric-ids --delete\` in place | ${m(re.rsync).toFixed(2)} | ${ratio(m(re.xcimg), m(re.rsync))} | no |`,
  `| \`rsync ... --link-dest=<previous>\` into a new tree | ${m(re.linkDest).toFixed(2)} | ${ratio(m(re.xcimg), m(re.linkDest))} | yes |`,
  "",
  `Then the first \`image show --manifest\` (deferred digest; only the changed files are read): ${m(re.manifest).toFixed(2)} s.`,
  "",
  `Re-capture ÷ full capture (xcimg): ${ratio(m(re.xcimg), m(full.xcimg))}.`,
  "",
  "All runs (seconds):",
  "",
  "```",
  `full    xcimg ${full.xcimg.map((x) => x.toFixed(2)).join(" ")} (then show --manifest ${full.manifest.map((x) => x.toFixed(2)).join(" ")}) | tar pipe ${full.tar.map((x) => x.toFixed(2)).join(" ")} | rsync ${full.rsync.map((x) => x.toFixed(2)).join(" ")}`,
  `re-cap  xcimg ${re.xcimg.map((x) => x.toFixed(2)).join(" ")} (then show --manifest ${re.manifest.map((x) => x.toFixed(2)).join(" ")}) | rsync in place ${re.rsync.map((x) => x.toFixed(2)).join(" ")} | rsync --link-dest ${re.linkDest.map((x) => x.toFixed(2)).join(" ")}`,
  "```",
  "",
  "The xcimg and rsync copies were compared with the source after the runs (contents, modes, owners, times, links,",
  `xattrs, ACLs, and for xcimg also the allocated blocks): ${fidelity.length ? `**DIFFERENT**: ${fidelity.join("; ")}` : "identical"}.`,
  "",
  "The first re-capture after a full capture builds the new tree in a hardlink copy of the live one (`cp -al`);",
  "from the second on, the tree before last (kept as `base/`, sharing all unchanged files) is brought up to date",
  "by replaying the previous capture's changes and reused, so the cost follows what changed, not the tree size.",
  `First re-capture: ${re.xcimg[0]?.toFixed(2)} s; the following ones: ${re.xcimg
    .slice(1)
    .map((x) => x.toFixed(2))
    .join(", ")} s.`,
  "",
];
mkdirSync(join(ROOT, "docs/bench"), { recursive: true });
const outArg = process.argv.indexOf("--out");
writeFileSync(outArg > 0 ? (process.argv[outArg + 1] as string) : join(ROOT, "docs/bench/capture.md"), lines.join("\n"));
console.log(lines.join("\n"));
if (fidelity.length) {
  console.error(fidelity.join("\n"));
  process.exit(1);
}
