import type { Db } from "../db/open";
import { setImage } from "../defs/image";
import type { CapturePlan } from "./plan";

/**
 * The tables a capture writes, in one transaction once the files are in place: the image's
 * osimage + linuximage rows (as xCAT's imgcapture defines them) and what the capture found on
 * the node, for the steps that come later (boot needs the kernels, clone the disk layout).
 */
export interface CaptureRecord {
  node: string;
  address: string;
  type: string;
  rootdir: string | null;
  started: string;
  finished: string;
  seconds: number;
  level: "full" | "incremental";
  osRelease: Record<string, string>;
  kernels: unknown;
  diskLayout: unknown;
  mounts: unknown;
  excludes: unknown;
  identity: unknown;
  tarVersion: string;
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  specials: number;
  bytes: number;
  streamBytes: number;
  warnings: string[];
}

export function recordCapture(db: Db, plan: CapturePlan, rec: CaptureRecord): void {
  db.write(() => {
    setImage(db, plan.name, {
      ...(plan.created ? { imagetype: "linux", osname: "Linux" } : {}),
      provmethod: plan.provmethod,
      osvers: plan.osvers,
      osarch: plan.osarch,
      profile: plan.profile,
      rootimgdir: plan.rootimgdir,
    });
    const row: Record<string, string | number | null> = {
      imagename: plan.name,
      node: rec.node,
      address: rec.address,
      type: rec.type,
      rootdir: rec.rootdir,
      tree: plan.tree,
      started: rec.started,
      finished: rec.finished,
      seconds: Math.round(rec.seconds * 1000) / 1000,
      level: rec.level,
      osvers: plan.osvers,
      osarch: plan.osarch,
      os_release: JSON.stringify(rec.osRelease),
      kernels: JSON.stringify(rec.kernels),
      disk_layout: rec.diskLayout === null ? null : JSON.stringify(rec.diskLayout),
      mounts: JSON.stringify(rec.mounts),
      excludes: JSON.stringify(rec.excludes),
      identity: JSON.stringify(rec.identity),
      tar_version: rec.tarVersion,
      files: rec.files,
      dirs: rec.dirs,
      symlinks: rec.symlinks,
      hardlinks: rec.hardlinks,
      specials: rec.specials,
      bytes: rec.bytes,
      stream_bytes: rec.streamBytes,
      warnings: JSON.stringify(rec.warnings),
    };
    const cols = Object.keys(row);
    // ON CONFLICT rather than SQLite's INSERT OR REPLACE: both engines take it
    const updates = cols.filter((c) => c !== "imagename").map((c) => `"${c}" = excluded."${c}"`);
    db.run(
      `INSERT INTO xcimg_capture (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map(() => "?").join(", ")}) ON CONFLICT ("imagename") DO UPDATE SET ${updates.join(", ")}`,
      ...cols.map((c) => (row[c] ?? null) as string | number | null),
    );
  });
}

/** The last capture's record for an image, JSON columns parsed (null if never captured). */
export function readCaptureRecord(db: Db, image: string): Record<string, unknown> | null {
  const row = db.get<Record<string, unknown>>("SELECT * FROM xcimg_capture WHERE imagename = ?", image);
  if (!row) return null;
  for (const k of ["os_release", "kernels", "disk_layout", "mounts", "excludes", "identity", "warnings"]) {
    if (typeof row[k] === "string") row[k] = JSON.parse(row[k] as string);
  }
  return row;
}
