import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { stateDir } from "../boot/paths";
import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import { openDbReadOnly } from "../db/open-readonly";
import { fsError, NotFoundError } from "../errors";
import { writeFileAtomic } from "../fs/atomic";
import { safeNodeFileName } from "../names";
import type { MnSnapshot } from "./mn-snapshot";
import { imagesOf, servedNodes } from "./served";
import { tableDigests } from "./table-digests";

/**
 * What the MN knows of each SN's syncs, for `xcimg sn status`: `sn snapshot --sn <names>` (the
 * first step of every `sn sync`, run by the SN over SSH) notes which SN asked, when, and which
 * images the definitions it got make it serve. One file per SN in <MN state dir>/sn-syncs/, so
 * two SNs snapshotting at once never write the same file. That is when the sync started; at
 * its end the SN reports back (`sn snapshot --finished <sha256> --exit <code>`), and the record
 * gets `finished`. A sync killed, or one that lost the MN, never reports: `finished` stays
 * absent and `sn status` says the last sync did not complete.
 */
export interface SyncRecord {
  /** The SN's first name, as it gave it. */
  sn: string;
  /** Every name it answered to (--sn / sn.name). */
  names: string[];
  /** ISO time of the snapshot. */
  at: string;
  /** The SSH client address (SSH_CONNECTION), when it came over SSH. */
  from?: string;
  definitions: { sha256: string; size: number };
  /** image → the nodes of this SN that boot it, as the snapshot said. */
  images: Record<string, string[]>;
  /** Each table's digest in the snapshot (table-digests.ts), for `sn status` to name the tables changed since; absent in records of older versions. */
  tables?: Record<string, string>;
  /** When the sync of this snapshot ended, and its exit code (0 all done, 1 partial). */
  finished?: { at: string; exit: number };
}

function recordDir(config: Config): string {
  return join(stateDir(config), "sn-syncs");
}

/** `sn snapshot --sn a,b`: the names, each checked before the snapshot is made (the first names the record's file). */
export function recordNames(arg: string): string[] {
  const names = arg
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) safeNodeFileName(n);
  return names;
}

export function recordSync(config: Config, db: Db, names: readonly string[], snap: MnSnapshot): SyncRecord {
  const sn = names[0] as string;
  let images: Record<string, string[]> = {};
  try {
    images = Object.fromEntries(imagesOf(servedNodes(db, names)));
  } catch (e) {
    // an SN that serves nothing stops at once on its side (exit 66); its visit is still noted
    if (!(e instanceof NotFoundError)) throw e;
  }
  const from = process.env.SSH_CONNECTION?.split(" ")[0];
  // the snapshot's own tables, not the live ones: a write since VACUUM INTO is not in what the SN got
  const copy = openDbReadOnly(snap.path);
  let tables: Record<string, string>;
  try {
    tables = tableDigests(copy);
  } finally {
    copy.close();
  }
  const rec: SyncRecord = { sn, names: [...names], at: new Date().toISOString(), from, definitions: { sha256: snap.sha256, size: snap.size }, images, tables };
  const dir = recordDir(config);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, `cannot create ${dir}`);
  }
  writeFileAtomic(join(dir, `${sn}.json`), `${JSON.stringify(rec, null, 2)}\n`, 0o600);
  return rec;
}

/**
 * `sn snapshot --finished`: the SN's sync of the snapshot with this digest ended with `exit`.
 * A record of another snapshot (a newer sync started meanwhile) is left alone: false.
 */
export function recordFinished(config: Config, names: readonly string[], sha256: string, exit: number): boolean {
  const file = join(recordDir(config), `${names[0] as string}.json`);
  let rec: SyncRecord;
  try {
    rec = JSON.parse(readFileSync(file, "utf8")) as SyncRecord;
  } catch {
    return false;
  }
  if (rec.definitions?.sha256 !== sha256) return false;
  rec.finished = { at: new Date().toISOString(), exit };
  writeFileAtomic(file, `${JSON.stringify(rec, null, 2)}\n`, 0o600);
  return true;
}

/** Every SN's last record; unreadable files are skipped (a record is a convenience, never a lock). */
export function readSyncRecords(config: Config): SyncRecord[] {
  const dir = recordDir(config);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  const out: SyncRecord[] = [];
  for (const f of files) {
    try {
      const r = JSON.parse(readFileSync(join(dir, f), "utf8")) as SyncRecord;
      if (typeof r.sn === "string" && Array.isArray(r.names) && typeof r.at === "string") out.push(r);
    } catch {
      // half-written by hand or by another version: not a record
    }
  }
  return out;
}
