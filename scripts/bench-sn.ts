#!/usr/bin/env bun
/**
 * `xcimg sn sync` of a changed ~1 GB image against xCAT's documented way to refresh a service
 * node, `rsync -auv --exclude autoinst /install sn:/` (define_service_node.rst), moving the
 * same change in the same run. Both go over a real sshd on 127.0.0.1 and rsync; what differs is
 * what each does around it (xcimg: snapshot of the definitions, staged copy with --link-dest,
 * manifest digests, one exchange, boot files rendered; xCAT's: the whole /install in place).
 *
 * The tree is a copy of this machine's /usr/{bin,lib,share} trimmed to ~1 GB (real binaries,
 * libraries and text), packed by `xcimg pack` (gzip). The change: one 8 MB file added and one
 * library rewritten, then `xcimg pack` again, as a site does after an update.
 *
 *   bun scripts/bench-sn.ts [--size-mb 1000]
 *
 * Writes docs/bench/sn.md (raw numbers and the model of SNs needed for 10,000 nodes).
 */
import { execFileSync, execSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { BIN, Sandbox } from "../test/helpers/sandbox";
import { Sshd } from "../test/helpers/sshd";

const ROOT = join(import.meta.dir, "..");
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const sizeMb = arg("--size-mb", 1000);
const IMG = "bench-x86_64-netboot-compute";
if (!existsSync(BIN)) throw new Error("build first: bun scripts/build.ts --host");

const du = (dir: string) => Number(execSync(`du -sb '${dir}'`).toString().split("\t")[0]);

/** Copy /usr/{bin,share,lib} entry by entry until the tree holds ~sizeMb. */
function makeTree(tree: string): void {
  mkdirSync(join(tree, "usr"), { recursive: true });
  let total = 0;
  for (const d of ["bin", "share", "lib"]) {
    for (const e of readdirSync(`/usr/${d}`).sort()) {
      if (total > sizeMb * 1e6) break;
      mkdirSync(join(tree, "usr", d), { recursive: true });
      execFileSync("cp", ["-a", `/usr/${d}/${e}`, join(tree, "usr", d)]);
      total += du(join(tree, "usr", d, e));
    }
  }
  mkdirSync(join(tree, "boot"), { recursive: true });
  writeFileSync(join(tree, "boot", "vmlinuz-6.1.0-9-amd64"), randomBytes(8 << 20));
}

function run(sb: Sandbox, ...argv: string[]): string {
  return execFileSync(BIN, argv, { env: sb.env as NodeJS.ProcessEnv, maxBuffer: 64 << 20 }).toString();
}

const t0 = performance.now();
const step = (what: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${what}`);

function timed<T>(fn: () => T): { s: number; v: T } {
  const t = performance.now();
  const v = fn();
  return { s: (performance.now() - t) / 1000, v };
}

interface SyncRun {
  s: number;
  received: number;
  /** sn sync only: seconds per phase, the image's (compare, transfer, ...) and the sync's (definitions, render, ...). */
  phases?: Record<string, number>;
}

interface SyncJson {
  images: { image: string; received: number; seconds: Record<string, number> }[];
  definitions: { size: number };
  seconds: Record<string, number>;
}

function snSync(sn: Sandbox): SyncRun {
  const r = timed(() => JSON.parse(run(sn, "--json", "sn", "sync")) as SyncJson);
  const img = r.v.images.find((i) => i.image === IMG)?.seconds ?? {};
  // "images" holds the image's phases (and the postscripts' pull): the rest of it is the MN round trips around them
  const inImage = Object.values(img).reduce((a, v) => a + v, 0);
  const { images = 0, ...sync } = r.v.seconds;
  const phases = { ...sync, ...img, "other image work (MN checks, postscripts)": images - inImage };
  // the definitions snapshot crosses the wire too (rsync of the whole file: it is new each time)
  return { s: r.s, received: r.v.images.reduce((a, i) => a + i.received, 0) + r.v.definitions.size, phases };
}

function xcatRsync(sshd: Sshd, mnInstall: string, dest: string): SyncRun {
  const ssh = `ssh -p ${sshd.port} -i ${sshd.clientKey} -o UserKnownHostsFile=${sshd.knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
  const r = timed(() =>
    execFileSync("rsync", ["-auv", "--stats", "--exclude", "autoinst", "-e", ssh, `127.0.0.1:${mnInstall}`, `${dest}/`], { maxBuffer: 256 << 20 }).toString(),
  );
  const m = /^Total bytes received: ([\d,.]+)/m.exec(r.v);
  return { s: r.s, received: m ? Number((m[1] as string).replace(/[,.]/g, "")) : Number.NaN };
}

/** One column per sync, one row per phase, in seconds. */
function phaseTable(runs: [string, SyncRun][]): string {
  const names = [...new Set(runs.flatMap(([, r]) => Object.keys(r.phases ?? {})))];
  const head = `| phase | ${runs.map(([n]) => n).join(" | ")} |\n|---|${runs.map(() => "---|").join("")}`;
  const rows = names.map(
    (p) => `| ${p} | ${runs.map(([, r]) => (r.phases?.[p] === undefined ? "" : `${(r.phases[p] as number).toFixed(2)} s`)).join(" | ")} |`,
  );
  const wall = `| wall time | ${runs.map(([, r]) => `${r.s.toFixed(2)} s`).join(" | ")} |`;
  return [head, ...rows, wall].join("\n");
}

const mn = new Sandbox("bench-sn-mn");
const sn = new Sandbox("bench-sn-sn");
const sshd = await Sshd.start({ config: [`SetEnv XCIMG_CONFIG=${mn.config}`] });
try {
  const tree = join(mn.installdir, "netboot", "bench1", "x86_64", "compute", "rootimg");
  makeTree(tree);
  step("tree made");
  run(mn, "image", "set", IMG, "provmethod=netboot", "osvers=bench1", "osarch=x86_64", "profile=compute");
  run(mn, "node", "set", "cn01", "groups=all", "mac=52:54:00:ee:00:01", "netboot=xnba", "servicenode=sn1", "xcatmaster=sn1");
  const pack1 = timed(() => run(mn, "pack", IMG));
  run(mn, "boot", "cn01", "-o", IMG);
  const packed = statSync(join(mn.installdir, "netboot", "bench1", "x86_64", "compute", "rootimg.cpio.gz")).size;
  const treeBytes = du(tree);
  const snToml = [
    `[ssh]`,
    `identity = "${sshd.clientKey}"`,
    `[sn]`,
    `mn = "127.0.0.1"`,
    `mn_port = ${sshd.port}`,
    `known_hosts = "${sshd.knownHosts}"`,
    `name = "sn1"`,
    `remote_xcimg = "${BIN}"`,
  ].join("\n");
  appendFileSync(sn.config, `\n${snToml}\n`);
  const xcatDest = join(sn.dir, "xcat-sn");
  mkdirSync(xcatDest);
  // first copies, both ways: what each SN holds before the change
  step("packed");
  const firstSn = snSync(sn);
  step(`first sn sync ${firstSn.s.toFixed(1)} s`);
  const firstXcat = xcatRsync(sshd, mn.installdir, xcatDest);
  step(`first xCAT rsync ${firstXcat.s.toFixed(1)} s`);
  // the change: a library rewritten (the biggest .so found), an 8 MB file added, re-packed
  const so = execSync(`find '${tree}' -name '*.so*' -type f -size +1M | head -1`).toString().trim();
  if (so) appendFileSync(so, randomBytes(64 << 10));
  writeFileSync(join(tree, "usr", "new-8m.bin"), randomBytes(8 << 20));
  const pack2 = timed(() => run(mn, "pack", IMG));
  step("re-packed");
  const changeSn1 = snSync(sn);
  step(`change 1 sn sync ${changeSn1.s.toFixed(1)} s`);
  const againXcat = xcatRsync(sshd, mn.installdir, xcatDest);
  step(`change 1 xCAT rsync ${againXcat.s.toFixed(1)} s`);
  // a second change of the same kind, measured in the other order (xCAT first) to see the cache's effect
  writeFileSync(join(tree, "usr", "new-8m-b.bin"), randomBytes(8 << 20));
  run(mn, "pack", IMG);
  const againXcat2 = xcatRsync(sshd, mn.installdir, xcatDest);
  step(`change 2 xCAT rsync ${againXcat2.s.toFixed(1)} s`);
  const againSn2 = snSync(sn);
  step(`change 2 sn sync ${againSn2.s.toFixed(1)} s`);
  const noop = snSync(sn);

  const mb = (b: number) => (b / 1e6).toFixed(1);
  const row = (name: string, r: SyncRun) => `| ${name} | ${r.s.toFixed(2)} s | ${mb(r.received)} MB |`;
  const changeSn = [changeSn1, againSn2];
  const changeXcat = [againXcat, againXcat2];
  const avg = (l: SyncRun[], k: "s" | "received") => l.reduce((a, r) => a + r[k], 0) / l.length;
  const ratioTime = avg(changeSn, "s") / avg(changeXcat, "s");
  const ratioBytes = avg(changeSn, "received") / avg(changeXcat, "received");
  const perSnMBs = (packed + treeBytes) / 1e6 / firstSn.s;
  const md = `# sn sync vs xCAT's rsync of /install (scripts/bench-sn.ts)

Run ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model}), load ${loadavg()[0]?.toFixed(1)} at the end;
a real sshd on 127.0.0.1 for both. Tree ${mb(treeBytes)} MB (a copy of /usr), packed image
${mb(packed)} MB (gzip; pack ${pack1.s.toFixed(1)} s, re-pack ${pack2.s.toFixed(1)} s).

| sync | time | bytes received |
|---|---|---|
${row("first copy: `xcimg sn sync`", firstSn)}
${row("first copy: `rsync -auv --exclude autoinst /install sn:/`", firstXcat)}
${row("change 1: `xcimg sn sync`", changeSn1)}
${row("change 1: xCAT's rsync", againXcat)}
${row("change 2: xCAT's rsync (run first)", againXcat2)}
${row("change 2: `xcimg sn sync`", againSn2)}
${row("nothing changed: `xcimg sn sync`", noop)}

Change = one library grown by 64 KiB and an 8 MB random file added, then \`xcimg pack\`.
Over the two changes, \`sn sync\` took ${ratioTime.toFixed(2)}× the time of xCAT's rsync and moved
${ratioBytes.toFixed(2)}× its bytes. Both are rsync deltas of the same files; \`sn sync\` adds the
definitions snapshot, a staged copy of the image made of hard links (\`--link-dest\`), the
SHA-256 of every manifest artifact (the whole packed image is read again), one directory
exchange and the rendering of the node's boot files. xCAT's rsync updates the served files in
place, so a node booting meanwhile can read a half-written image, and it checks nothing.

First full copy: ${mb(packed + treeBytes)} MB in ${firstSn.s.toFixed(1)} s = ${perSnMBs.toFixed(0)} MB/s per SN (loopback, one sync).

Where each \`sn sync\` spent its time (\`--json\` \`seconds\`; the process start and SSH login are the rest of the wall time):

${phaseTable([
  ["first copy", firstSn],
  ["change 1", changeSn1],
  ["change 2", againSn2],
  ["nothing changed", noop],
])}
`;
  // the page's later sections (earlier runs, the analysis, the model) are kept as written
  const page = join(ROOT, "docs", "bench", "sn.md");
  const old = existsSync(page) ? readFileSync(page, "utf8") : "";
  const rest = old.indexOf("\n## ");
  writeFileSync(page, rest >= 0 ? `${md}${old.slice(rest)}` : md);
  console.log(md);
} finally {
  await sshd.stop();
  mn.cleanup();
  sn.cleanup();
}
