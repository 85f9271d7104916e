import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import { isPostgresUrl, sqlitePathOf } from "../db/url";
import { getImage } from "../defs/image";
import { listNodes, readNodes } from "../defs/node";
import { XcimgError } from "../errors";
import { rootImgDir } from "../image/paths";
import { manifestPath } from "../provenance/manifest";
import { isProvMethodName } from "../provmethod/names";
import { serviceNodes, servingSns } from "./served";
import { readSyncRecords, type SyncRecord } from "./sync-record";
import { changedTables, tableDigests } from "./table-digests";

/**
 * `xcimg sn status` on the MN: each service node (served.ts serviceNodes), the nodes it serves,
 * its last sync as the MN noted it (sync-record.ts), and what it lags behind — images whose
 * manifest or top-level files (the packed image, kernel, initrds) changed on the MN since, images
 * it serves now that its last sync did not carry, and the tables whose rows differ from the
 * snapshot it got (table-digests.ts; for a record of an older version, SQLite's file times).
 */
export interface SnStatus {
  sn: string;
  nodes: string[];
  images: string[];
  /** finished: when the SN reported the end of that sync, and its exit code; null when it did not (killed, lost the MN, or still running). */
  lastSync: { at: string; from?: string; images: string[]; finished: { at: string; exit: number } | null } | null;
  /** null: never synced, it lags behind everything. */
  behind: {
    /** Definitions changed since (null: cannot tell — a record of an older version on a PostgreSQL MN). */
    definitions: boolean | null;
    /** The tables that differ from the snapshot it got (null: its record predates table digests). */
    tables: string[] | null;
    images: { image: string; why: string }[];
  } | null;
}

export function snStatus(config: Config, db: Db): SnStatus[] {
  const sns = serviceNodes(db);
  const records = readSyncRecords(config);
  for (const r of records) if (!sns.has(r.sn.toLowerCase())) sns.set(r.sn.toLowerCase(), r.sn);
  const all = listNodes(db);
  const serving = servingSns(db, all);
  const attrs = readNodes(db, all);
  const dbTime = definitionsTime(config);
  let now: Record<string, string> | undefined;
  const tablesNow = () => {
    now ??= tableDigests(db);
    return now;
  };
  const out: SnStatus[] = [];
  for (const [key, sn] of [...sns].sort(([a], [b]) => a.localeCompare(b))) {
    const nodes = all.filter((n) => serving.get(n)?.some((s) => s.toLowerCase() === key)).sort();
    const images = [...new Set(nodes.map((n) => attrs.get(n)?.provmethod ?? "").filter((i) => i && !isProvMethodName(i)))].sort();
    const rec = latest(records.filter((r) => r.names.some((n) => n.toLowerCase() === key)));
    out.push({
      sn,
      nodes,
      images,
      lastSync: rec ? { at: rec.at, from: rec.from, images: Object.keys(rec.images).sort(), finished: rec.finished ?? null } : null,
      behind: rec ? behind(config, db, rec, images, dbTime, tablesNow) : null,
    });
  }
  return out;
}

function latest(recs: SyncRecord[]): SyncRecord | undefined {
  return recs.sort((a, b) => b.at.localeCompare(a.at))[0];
}

function behind(
  config: Config,
  db: Db,
  rec: SyncRecord,
  images: string[],
  dbTime: number | null,
  tablesNow: () => Record<string, string>,
): NonNullable<SnStatus["behind"]> {
  const at = Date.parse(rec.at);
  const lag: { image: string; why: string }[] = [];
  for (const image of images) {
    if (!(image in rec.images)) {
      lag.push({ image, why: "not in its last sync" });
      continue;
    }
    try {
      const t = imageTime(config, db, image);
      if (t > at) lag.push({ image, why: `changed ${new Date(t).toISOString()}` });
    } catch (e) {
      if (!(e instanceof XcimgError)) throw e;
      lag.push({ image, why: e.message });
    }
  }
  if (rec.tables) {
    const tables = changedTables(rec.tables, tablesNow());
    return { definitions: tables.length > 0, tables, images: lag };
  }
  return { definitions: dbTime === null ? null : dbTime > at, tables: null, images: lag };
}

/** The newest mtime of the image's manifest and the files at the top of its directory (what pack and capture rewrite). */
function imageTime(config: Config, db: Db, image: string): number {
  const img = getImage(db, image);
  const dir = rootImgDir(config, img);
  let t = mtime(manifestPath(config, img));
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    // no directory: nothing there changed
  }
  for (const e of entries) {
    const p = join(dir, e);
    try {
      const s = statSync(p);
      if (s.isFile()) t = Math.max(t, s.mtimeMs);
    } catch {
      // gone meanwhile
    }
  }
  return t;
}

function mtime(p: string): number {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

/** When the MN's SQLite definitions were last written (the file or its WAL); null for PostgreSQL. */
function definitionsTime(config: Config): number | null {
  const target = config["db.url"] || config["db.path"];
  if (isPostgresUrl(target)) return null;
  const p = sqlitePathOf(target);
  return Math.max(mtime(p), mtime(`${p}-wal`));
}
