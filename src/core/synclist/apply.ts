import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { mergeEntries, type SyncPlan } from "./plan";

/**
 * Applying a sync plan to a target — an image tree (image-target.ts) or a running node over
 * SSH (node-target.ts) — with one logic for both: files whose bytes already match are left
 * alone (and do not count as changed for EXECUTE), APPEND keeps the destination's original
 * under /var/xcat/node/syncfiles/org (xCAT's site.nodesyncfiledir) and rebuilds the file from
 * it, so syncing twice does not append twice, MERGE adds or replaces passwd/shadow/group
 * entries by name.
 */
export interface SyncTarget {
  /** sha256 (hex) of each regular file, null when absent or not a regular file. */
  hashes(paths: string[]): Promise<Map<string, string | null>>;
  read(path: string): Promise<Buffer | null>;
  write(path: string, data: Buffer, mode: number): Promise<void>;
  mkdir(path: string, mode: number): Promise<void>;
  symlink(path: string, target: string): Promise<void>;
  /** Refuse the plan before anything is written (an image: links under APPEND/MERGE, files where directories go). */
  check?(plan: SyncPlan): Promise<void>;
  /** Run an MN script on the target; undefined: this target runs no scripts (an image). */
  run?(script: string, data: Buffer): Promise<{ code: number; output: string }>;
}

export interface SyncReport {
  changed: string[];
  unchanged: number;
  appended: string[];
  merged: string[];
  /** Problems that left one destination alone (e.g. APPEND to a missing file). */
  warnings: string[];
  ran: { script: string; code: number; output: string }[];
  /** EXECUTE/EXECUTEALWAYS scripts not run (an image runs none). */
  notRun: string[];
  notForTarget: string[];
}

export const ORG_DIR = "/var/xcat/node/syncfiles/org";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

export async function applySync(plan: SyncPlan, t: SyncTarget): Promise<SyncReport> {
  const r: SyncReport = { changed: [], unchanged: 0, appended: [], merged: [], warnings: [], ran: [], notRun: [], notForTarget: plan.notForTarget };
  await t.check?.(plan);
  const files = plan.ops.filter((o) => o.op === "file");
  const have = await t.hashes(files.map((o) => o.dest));
  const changedSources = new Set<string>();
  for (const op of plan.ops) {
    switch (op.op) {
      case "dir":
        await t.mkdir(op.dest, op.mode);
        break;
      case "symlink":
        await t.symlink(op.dest, op.target);
        break;
      case "file": {
        const data = readFileSync(op.src);
        if (have.get(op.dest) === sha(data)) {
          r.unchanged++;
          break;
        }
        await t.write(op.dest, data, op.mode);
        r.changed.push(op.dest);
        changedSources.add(op.src);
        break;
      }
      case "append": {
        const org = posix.join(ORG_DIR, op.dest);
        let base = await t.read(org);
        if (!base) {
          base = await t.read(op.dest);
          if (!base) {
            r.warnings.push(`APPEND: ${op.dest} does not exist, nothing to append ${op.src} to`);
            break;
          }
          await t.write(org, base, 0o600);
        }
        const next = Buffer.concat([base, readFileSync(op.src)]);
        if ((await t.hashes([op.dest])).get(op.dest) !== sha(next)) {
          await t.write(op.dest, next, 0o644);
          r.appended.push(op.dest);
          changedSources.add(op.src);
        }
        break;
      }
      case "merge": {
        const cur = (await t.read(op.dest))?.toString("utf8") ?? "";
        const next = mergeEntries(cur, readFileSync(op.src, "utf8"));
        if (next !== cur) {
          await t.write(op.dest, Buffer.from(next), op.dest === "/etc/shadow" ? 0o640 : 0o644);
          r.merged.push(op.dest);
        }
        break;
      }
    }
  }
  const scripts = [...plan.execute.filter((x) => changedSources.has(x.trigger)).map((x) => x.script), ...plan.executeAlways];
  for (const s of scripts) {
    if (!t.run) {
      r.notRun.push(s);
      continue;
    }
    const res = await t.run(s, readFileSync(s));
    r.ran.push({ script: s, ...res });
  }
  return r;
}
