import type { Db } from "../db/open";
import { DataError } from "../errors";

/**
 * The capture record (core/capture/record.ts: what capture found on the golden node — its disk
 * layout, kernels, counts) travels in a bundle as <img>/xcimg-capture.json when the method
 * needs it after import (sysclone: clone recreates the golden node's partitions from it). It
 * is hostile input like the rest of the bundle: only the record's own columns, each a string,
 * a finite number or null, JSON columns as JSON; the image name and tree are this site's.
 */
export const CAPTURE_FILE = "xcimg-capture.json";

const TEXT = ["node", "address", "type", "rootdir", "started", "finished", "level", "osvers", "osarch", "tar_version"] as const;
const NUMBER = ["seconds", "files", "dirs", "symlinks", "hardlinks", "specials", "bytes", "stream_bytes"] as const;
const JSON_COLUMNS = ["os_release", "kernels", "disk_layout", "mounts", "excludes", "identity", "warnings"] as const;

export type CarriedCapture = Record<string, string | number | null>;

/** The record of `readCaptureRecord` as a bundle carries it (JSON columns as JSON values). */
export function carriedCapture(rec: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of [...TEXT, ...NUMBER, ...JSON_COLUMNS]) if (rec[k] !== undefined) out[k] = rec[k];
  return out;
}

/** Parse and check a bundle's xcimg-capture.json into row values (JSON columns re-serialised). */
export function parseCarriedCapture(text: Buffer, what: string): CarriedCapture {
  let v: unknown;
  try {
    v = JSON.parse(text.toString("utf8"));
  } catch (e) {
    throw new DataError(`${what} is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new DataError(`${what} is not a JSON object`);
  const out: CarriedCapture = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if ((TEXT as readonly string[]).includes(k)) {
      if (val !== null && typeof val !== "string") throw new DataError(`${what}: '${k}' must be a string`);
      out[k] = val;
    } else if ((NUMBER as readonly string[]).includes(k)) {
      if (val !== null && (typeof val !== "number" || !Number.isFinite(val))) throw new DataError(`${what}: '${k}' must be a number`);
      out[k] = val;
    } else if ((JSON_COLUMNS as readonly string[]).includes(k)) {
      out[k] = val === null ? null : JSON.stringify(val);
    } else throw new DataError(`${what}: unknown field '${k}'`, { hint: "a capture record holds what xcimg capture records, nothing else" });
  }
  return out;
}

/** Write (or replace) the image's capture record: called inside the import's transaction. */
export function restoreCapture(db: Db, image: string, tree: string, values: CarriedCapture): void {
  const row: CarriedCapture = { ...values, imagename: image, tree };
  const cols = Object.keys(row);
  const updates = cols.filter((c) => c !== "imagename").map((c) => `"${c}" = excluded."${c}"`);
  db.run(
    `INSERT INTO xcimg_capture (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map(() => "?").join(", ")}) ON CONFLICT ("imagename") DO UPDATE SET ${updates.join(", ")}`,
    ...cols.map((c) => row[c] ?? null),
  );
}

/** An image replaced by an import loses the record of the tree it had. */
export function forgetCapture(db: Db, image: string): void {
  db.run("DELETE FROM xcimg_capture WHERE imagename = ?", image);
}
