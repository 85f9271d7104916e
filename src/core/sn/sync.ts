import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { stateDir } from "../boot/paths";
import type { Config } from "../config/schema";
import type { Context } from "../context";
import type { Db } from "../db/open";
import { getImage, setImage } from "../defs/image";
import { DataError, fsError, RemoteError, XcimgError } from "../errors";
import { fsyncDir, writeFileAtomic } from "../fs/atomic";
import { imageFacts } from "../image/method-facts";
import { isInside, rootImgDir } from "../image/paths";
import { manifestPath } from "../provenance/manifest";
import type { RemoteSession, SshTarget } from "../remote/ssh";
import { bundleFilesList } from "../template/provenance";
import type { OwnDir } from "./image-pull";
import type { MnSnapshot } from "./mn-snapshot";
import { remotePath, rsyncPull } from "./rsync";
import { imagesOf, type ServedNodes } from "./served";
import { mnRun, sshCommand } from "./transport";

/**
 * The definitions half of `sn sync` (docs/service-nodes.md): ask the MN's xcimg for a
 * snapshot, fetch it, find where each served image lives on the MN and where it goes here, and
 * at the end put the snapshot in place of this SN's database in one rename. Until then the
 * SN's commands keep reading the previous snapshot.
 */
export interface FetchedDefinitions {
  snap: MnSnapshot;
  /** The fetched copy, not yet in place. */
  staged: string;
}

export async function fetchDefinitions(ctx: Context, s: RemoteSession, t: SshTarget, into: string, names: readonly string[]): Promise<FetchedDefinitions> {
  // --sn: the MN notes who asked and when, for its 'xcimg sn status' (sync-record.ts)
  const r = await mnRun(s, [ctx.config["sn.remote_xcimg"], "--json", "sn", "snapshot", "--sn", names.join(",")]);
  if (r.code !== 0) {
    const why = r.code === 127 ? `'${ctx.config["sn.remote_xcimg"]}' is not installed there (set sn.remote_xcimg)` : firstError(r.stdout, r.stderr);
    throw new RemoteError(`the management node ${t.host} could not make a snapshot of its definitions: ${why}`, {
      hint: "run 'xcimg sn snapshot' on the management node to see why",
    });
  }
  let snap: MnSnapshot;
  try {
    snap = JSON.parse(r.stdout) as MnSnapshot;
  } catch {
    throw new RemoteError(`the management node's 'xcimg sn snapshot' printed no JSON: ${r.stdout.slice(0, 200)}`);
  }
  try {
    await rsyncPull({ ssh: sshCommand(t), source: remotePath(t.host, snap.path), dest: into, signal: ctx.signal });
  } finally {
    await mnRun(s, [ctx.config["sn.remote_xcimg"], "sn", "snapshot", "--drop", snap.path]).catch(() => {});
  }
  const got = createHash("sha256").update(readFileSync(into)).digest("hex");
  if (got !== snap.sha256) throw new DataError(`the snapshot of the definitions arrived with SHA-256 ${got}, the management node sent ${snap.sha256}`);
  chmodSync(into, 0o600);
  return { snap, staged: into };
}

function firstError(stdout: string, stderr: string): string {
  try {
    const e = (JSON.parse(stdout) as { error?: { message?: string } }).error;
    if (e?.message) return e.message;
  } catch {
    // not JSON
  }
  return (
    stderr
      .trim()
      .split("\n")
      .find((l) => l.startsWith("Error:")) ??
    stderr.trim().split("\n")[0] ??
    "no output"
  ).replace(/^Error: /, "");
}

/** One served image: where it is on the MN, where it goes on this SN, and its nodes. */
export interface ImagePlan {
  image: string;
  nodes: string[];
  from: string;
  dir: string;
  /** The method's directories outside the image's (sysclone: clone/<image>), mirrored the same way. */
  own: OwnDir[];
  /** Where a manifest artifact outside the image directory is staged (its method's artifacts map). */
  resolve(rel: string): string | undefined;
  /** The manifest when it lies beside the image directory (images whose directory is the tree). */
  manifest?: { from: string | null; dest: string };
}

/** Staged copies of the method's own directories: under installdir (one filesystem), hidden from the web server by the dot. */
export const stageRoot = (cfg: Config) => join(cfg.installdir, ".xcimg-sn-stage");

/**
 * Map each image's directory on the MN into this SN's installdir at the same relative path
 * (xCAT's SNs mirror /install the same way). An image kept outside the MN's installdir
 * (linuximage.rootimgdir elsewhere) has no place here yet: its nodes fail, the others go on.
 */
export function planImages(db: Db, served: ServedNodes, mn: MnSnapshot, cfg: Config): { plans: ImagePlan[]; failed: Record<string, string> } {
  const plans: ImagePlan[] = [];
  const failed: Record<string, string> = {};
  const mnCfg = { ...cfg, installdir: mn.installdir, tftpdir: mn.tftpdir } as Config;
  // a directory several images share (one media for two install images) is mirrored once
  const sharedTaken = new Set<string>();
  for (const [image, nodes] of imagesOf(served)) {
    try {
      const img = getImage(db, image);
      const from = rootImgDir(mnCfg, img);
      if (!isInside(from, mn.installdir))
        throw new DataError(`image ${image} lives in ${from}, outside the management node's installdir ${mn.installdir}: service nodes mirror installdir only`);
      const facts = imageFacts(img.attrs.provmethod);
      const staging = { ...cfg, installdir: stageRoot(cfg) } as Config;
      const [mnOwn, snOwn, stOwn] = [mnCfg, cfg, staging].map((c) => facts.ownFiles?.(c, image) ?? []);
      const own = (mnOwn as string[]).map((f, i) => {
        if (!isInside(f, mn.installdir))
          throw new DataError(`image ${image} keeps ${f} outside the management node's installdir: service nodes mirror installdir only`);
        return { from: f, dir: (snOwn as string[])[i] as string, staged: (stOwn as string[])[i] as string };
      });
      for (const f of facts.sharedDirs?.(mnCfg, img) ?? []) {
        if (!isInside(f, mn.installdir))
          throw new DataError(`image ${image} reads ${f}, outside the management node's installdir: service nodes mirror installdir only`, {
            hint: "keep install media and package directories under installdir (xcimg image media copies them there)",
          });
        if (sharedTaken.has(f)) continue;
        const rel = relative(mn.installdir, f);
        own.push({ from: f, dir: join(cfg.installdir, rel), staged: join(stageRoot(cfg), "shared", rel) });
      }
      for (const d of own) sharedTaken.add(d.from);
      const resolve = (rel: string) => facts.artifacts?.(staging, image).get(rel);
      const mf = manifestPath(mnCfg, img);
      const manifest = isInside(mf, from) ? undefined : { from: mf, dest: join(cfg.installdir, relative(mn.installdir, mf)) };
      plans.push({ image, nodes, from, dir: join(cfg.installdir, relative(mn.installdir, from)), own, resolve, manifest });
    } catch (e) {
      if (!(e instanceof XcimgError)) throw e;
      for (const n of nodes) failed[n] = e.message;
    }
  }
  return { plans, failed };
}

/** linuximage attributes that name files under the MN's installdir (comma lists allowed). */
const PATH_ATTRS = ["pkgdir", "otherpkgdir", "template", "pkglist", "otherpkglist", "exlist", "postinstall", "synclists"] as const;

/**
 * The snapshot names images by the MN's paths: point the synced ones at this SN's copies —
 * rootimgdir at the image's directory here, and every other path under the MN's installdir
 * at the same place under this SN's (the mirror keeps relative paths), so an install image's
 * media and templates are read from the SN's copies.
 */
export function localiseImages(db: Db, plans: readonly ImagePlan[], mnInstalldir: string, snInstalldir: string): void {
  const local = (v: string) =>
    v
      .split(",")
      .map((p) => {
        const t = p.trim();
        return t.startsWith("/") && isInside(t, mnInstalldir) ? join(snInstalldir, relative(mnInstalldir, t)) : p;
      })
      .join(",");
  for (const p of plans) {
    const attrs = getImage(db, p.image).attrs;
    const set: Record<string, string> = {};
    if (attrs.rootimgdir) set.rootimgdir = p.dir;
    if (mnInstalldir !== snInstalldir)
      for (const k of PATH_ATTRS) {
        const v = attrs[k];
        if (v && local(v) !== v) set[k] = local(v);
      }
    if (Object.keys(set).length) setImage(db, p.image, set);
  }
}

/**
 * The nodes' SSH host keys are the MN's (made by `xcimg boot` there): an SN must hand a node
 * the same key the MN and every other SN of its pool hand it. Keys this SN made for nodes the
 * MN has none for are kept; the MN's win.
 */
export async function pullHostKeys(ctx: Context, t: SshTarget, mn: MnSnapshot): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), "xcimg-sn-keys-"));
  try {
    const got = join(tmp, "keys.json");
    try {
      await rsyncPull({ ssh: sshCommand(t), source: remotePath(t.host, join(mn.stateDir, "ssh-host-keys.json")), dest: got, signal: ctx.signal });
    } catch (e) {
      if (e instanceof RemoteError) throw e;
      ctx.log.warn(`the management node has no node host keys yet (${join(mn.stateDir, "ssh-host-keys.json")}): this SN makes its own`);
      return 0;
    }
    const theirs = JSON.parse(readFileSync(got, "utf8")) as Record<string, unknown>;
    const mine = join(stateDir(ctx.config), "ssh-host-keys.json");
    const ours = existsSync(mine) ? (JSON.parse(readFileSync(mine, "utf8")) as Record<string, unknown>) : {};
    writeFileAtomic(mine, JSON.stringify({ ...ours, ...theirs }), 0o600, { fsync: true });
    return Object.keys(theirs).length;
  } catch (e) {
    if (e instanceof XcimgError) throw e;
    throw new DataError(`cannot merge the management node's node host keys: ${(e as Error).message}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Which template contents came from bundles (core/template/provenance.ts) is recorded on the
 * MN, not in the files: without the record, a template a bundle brought into custom/install
 * would render on the SN as the site's own, with the site's trust (commands, secrets). The
 * SN takes the MN's lines and keeps its own.
 */
export async function pullBundleRecord(ctx: Context, s: RemoteSession, t: SshTarget, mn: MnSnapshot): Promise<void> {
  const theirs = bundleFilesList(mn.installdir);
  if ((await mnRun(s, ["test", "-f", theirs])).code !== 0) return;
  const tmp = mkdtempSync(join(tmpdir(), "xcimg-sn-bundles-"));
  try {
    const got = join(tmp, "bundle-files");
    await rsyncPull({ ssh: sshCommand(t), source: remotePath(t.host, theirs), dest: got, signal: ctx.signal });
    const mine = bundleFilesList(ctx.config.installdir);
    const lines = new Set(existsSync(mine) ? readFileSync(mine, "utf8").split("\n") : []);
    for (const l of readFileSync(got, "utf8").split("\n")) lines.add(l);
    lines.delete("");
    mkdirSync(join(ctx.config.installdir, ".xcimg"), { recursive: true, mode: 0o700 });
    writeFileAtomic(mine, [...lines].map((l) => `${l}\n`).join(""), 0o644, { fsync: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Where the fetched snapshot waits: beside the SN's database, so the final rename stays on one filesystem. */
export function stagedDbPath(cfg: Config): string {
  const dir = stateDir(cfg);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, `cannot create ${dir}`);
  }
  return join(dir, ".sn-snapshot.db.new");
}

/**
 * Put the snapshot in place of the SN's database: rollback journal (readers of a WAL file
 * would create -wal/-shm files beside it, and a stale -wal must never meet a new main file),
 * fsynced, renamed. Commands started before see the old file to their end.
 */
export function commitDefinitions(staged: string, dbPath: string): void {
  const db = new Database(staged);
  try {
    db.exec("PRAGMA journal_mode = DELETE");
  } finally {
    db.close();
  }
  for (const f of [`${dbPath}-wal`, `${dbPath}-shm`]) rmSync(f, { force: true });
  try {
    renameSync(staged, dbPath);
  } catch (e) {
    throw fsError(e, `cannot move the snapshot to ${dbPath}`);
  }
  fsyncDir(join(dbPath, ".."));
}
