#!/usr/bin/env bun
/**
 * `xcimg genimage` (Debian backend) against mmdebstrap by hand with the same package list, in
 * the same run, from the Debian mirror this machine's apt is configured with:
 *   by hand:          mmdebstrap --variant=apt --include=<list> <suite> <dir> <mirror>   (downloads every time)
 *   xcimg, cold:      xcimg genimage --fresh with an empty package cache
 *   xcimg, rebuild:   xcimg genimage --fresh again, lists unchanged (packages from installdir's cache)
 * xcimg does more than the bare mmdebstrap (a precheck of every name against the mirror, the
 * node generalisation, the package record, the seal and swap), which the ratio includes.
 * Writes docs/bench/genimage.md.
 *
 *   bun scripts/bench-genimage.ts [--packages "hostname,less,netbase,iproute2"]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { hostAptSources } from "../src/core/genimage/repos";

const root = join(import.meta.dir, "..");
const i = process.argv.indexOf("--packages");
const pkgs = (i > 0 ? (process.argv[i + 1] as string) : "hostname,less,netbase,iproute2").split(",");
const bin = join(root, "dist", "xcimg");
if (!existsSync(bin)) throw new Error("build first: bun scripts/build.ts --host");
const bench = join(root, ".cache", "bench", "genimage");
rmSync(bench, { recursive: true, force: true });
const site = join(bench, "site");
mkdirSync(join(site, "install"), { recursive: true });
mkdirSync(join(site, "tftp"), { recursive: true });
const config = join(site, "xcimg.toml");
writeFileSync(config, `installdir = "${site}/install"\ntftpdir = "${site}/tftp"\nmaster = "127.0.0.1"\n[db]\npath = "${site}/db/xcimg.db"\n`);
writeFileSync(join(site, "bench.pkglist"), `${pkgs.join("\n")}\n`);
const env = { ...process.env, XCIMG_CONFIG: config };
const mirror = hostAptSources().find((s) => s.suite === "bookworm");
if (!mirror) throw new Error("this machine's apt has no bookworm source");

function timed(label: string, argv: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(argv[0] as string, argv.slice(1), { env, encoding: "utf8", maxBuffer: 1 << 26 });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${label} failed: ${r.stderr.slice(-2000)}`);
  console.error(`${label}: ${s.toFixed(1)} s`);
  return s;
}

execFileSync(
  bin,
  ["image", "set", "bench", "osvers=debian12", "osarch=x86_64", "profile=bench", "provmethod=netboot", `pkglist=${join(site, "bench.pkglist")}`],
  { env },
);
const mmdebstrap = [
  "unshare",
  "--mount",
  "--propagation",
  "private",
  "mmdebstrap",
  "--mode=root",
  "--variant=apt",
  `--include=${pkgs.join(",")}`,
  "bookworm",
  join(bench, "by-hand"),
  `deb ${mirror.uri} bookworm main`,
];
const byHand = timed("mmdebstrap by hand", mmdebstrap);
rmSync(join(bench, "by-hand"), { recursive: true, force: true });
const cold = timed("xcimg genimage (cold cache)", [bin, "genimage", "bench", "--fresh"]);
const warm = timed("xcimg genimage (rebuild, lists unchanged)", [bin, "genimage", "bench", "--fresh"]);
// the same by hand again, last: separates what the order (mirror, page cache) gave the later runs
const byHandAgain = timed("mmdebstrap by hand, again", mmdebstrap);
rmSync(join(bench, "by-hand"), { recursive: true, force: true });

const when = new Date().toISOString();
const md = `# genimage benchmark

\`scripts/bench-genimage.ts\`, ${when}. ${cpus().length} cores, load average ${loadavg()
  .map((l) => l.toFixed(1))
  .join(" ")} at the end (the machine is shared:
compare the rows of this table, not absolute times). Debian 12 from this machine's apt mirror, package list:
${pkgs.map((p) => `\`${p}\``).join(", ")} (mmdebstrap \`--variant=apt\` plus these).

| run | seconds | vs mmdebstrap by hand |
|---|---|---|
| mmdebstrap by hand (downloads every package) | ${byHand.toFixed(1)} | 1.00 |
| mmdebstrap by hand, again after the xcimg runs | ${byHandAgain.toFixed(1)} | ${(byHandAgain / byHand).toFixed(2)}× the time |
| xcimg genimage, cold cache | ${cold.toFixed(1)} | ${(cold / byHand).toFixed(2)}× the time |
| xcimg genimage, rebuild with unchanged lists | ${warm.toFixed(1)} | ${(warm / byHand).toFixed(2)}× the time |

xcimg runs dpkg with \`force-unsafe-io\` and syncs the finished tree once before the swap (a
crash discards the staging tree anyway); the bare mmdebstrap lets dpkg fsync every file.
xcimg's run also includes what the bare mmdebstrap does not do: the precheck of every package name
against the mirror (one \`apt-get update\` into the cache and a simulated install), the
generalisation of the tree, the package record, the seal and the atomic swap. The rebuild reads
every package from \`<installdir>/.cache/genimage\` and fetches only the indices' freshness checks.
`;
writeFileSync(join(root, "docs", "bench", "genimage.md"), md);
console.log(md);
