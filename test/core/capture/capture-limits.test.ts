import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CaptureEnv, captureEnv, leftovers, sh } from "../../helpers/capture-env";
import { walk } from "../../helpers/fidelity-tree";
import { type HostileNode, hostileNode } from "../../helpers/hostile-node";
import { BIN } from "../../helpers/sandbox";

/**
 * A node's output is bounded wherever xcimg keeps it (src/core/remote/ssh.ts run(),
 * src/core/capture/node-stderr.ts): a huge /etc/os-release in the probe, a huge snapshot file
 * after the archive. The compiled binary runs under /usr/bin/time -v, whose peak RSS must stay
 * near that of an ordinary capture instead of growing with what the node sends.
 */
let env: CaptureEnv;
let node: HostileNode;
let small: string;
const TREE = () => join(env.sb.installdir, "netboot/debian12/x86_64/compute/rootimg");

async function timed(root: string): Promise<{ code: number; stderr: string; rssMiB: number }> {
  // -o: time's report goes to a file of its own (the binary shares, and may make non-blocking, stderr)
  const report = join(env.sb.dir, "time.txt");
  const proc = Bun.spawn(
    ["/usr/bin/time", "-v", "-o", report, BIN, "--config", node.config, "capture", "golden", "-t", "diskless", "--rootdir", root, "--keep-identity"],
    {
      env: env.sb.env as Record<string, string>,
      stdout: "ignore",
      stderr: "pipe",
    },
  );
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(report, "utf8"))?.[1]);
  if (!kb) throw new Error(`no RSS from /usr/bin/time: ${stderr}`);
  console.error(`peak RSS ${(kb / 1024).toFixed(0)} MiB`);
  return { code, stderr, rssMiB: kb / 1024 };
}

let baseline = 0;

beforeAll(async () => {
  env = await captureEnv("caplimits");
  node = await hostileNode(env, ["truncate"]);
  small = join(env.sb.dir, "small");
  mkdirSync(join(small, "etc"), { recursive: true });
  writeFileSync(join(small, "etc/os-release"), "ID=debian\nVERSION_ID=12\n");
  for (let i = 0; i < 5; i++) writeFileSync(join(small, `f${i}`), `file ${i}\n`);
  const r = await timed(small);
  if (r.code !== 0) throw new Error(r.stderr);
  baseline = r.rssMiB;
});
afterAll(async () => {
  await node.stop();
  await env.stop();
});

describe("a node's output is bounded (exit 65, memory stays flat)", () => {
  test("a 200 MiB /etc/os-release: the probe stops at its cap", async () => {
    const huge = join(env.sb.dir, "huge-os-release");
    mkdirSync(join(huge, "etc"), { recursive: true });
    sh(`printf 'ID=debian\\nVERSION_ID=12\\n' > '${huge}/etc/os-release' && truncate -s 200M '${huge}/etc/os-release'`);
    const before = walk(TREE());
    const r = await timed(huge);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("Error: golden (127.0.0.1:");
    expect(r.stderr).toContain("sent more than 16 MiB in answer to the capture probe; stopped it there");
    expect(r.stderr).toContain("hint: ");
    expect(r.rssMiB).toBeLessThan(baseline + 80); // it was 723 MiB before the cap
    expect(walk(TREE())).toEqual(before);
  }, 60_000);

  test("a snapshot file of 2 GiB after the archive: refused past 512 MiB, nothing changed", async () => {
    // the node's tar really runs, then its snapshot file grows (sparse) before the script sends it back
    node.tar({
      script: `for a; do case "$a" in --listed-incremental=*) s=\${a#*=};; esac; done; /usr/bin/tar "$@"; rc=$?; truncate -s +2G "$s"; exit $rc`,
    });
    writeFileSync(join(small, "f0"), "changed\n");
    const before = walk(TREE());
    const r = await timed(small);
    node.tar("real");
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("Error: the snapshot file golden (127.0.0.1:");
    expect(r.stderr).toContain("is larger than 512 MiB; stopped the capture there");
    expect(r.rssMiB).toBeLessThan(baseline + 150); // spooled to a file up to the cap, never held in memory
    expect(walk(TREE())).toEqual(before);
    expect(leftovers(TREE())).toEqual([]);
    expect(existsSync(TREE())).toBe(true);
  }, 60_000);
});
