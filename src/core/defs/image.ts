import { ARCHES, archProblem, canonicalArch } from "../arch";
import { bootLineProblem } from "../boot/boot-values";
import type { Db } from "../db/open";
import { allRows, deleteRows, upsert } from "../db/rows";
import { TABLES } from "../db/tables";
import { NotFoundError, UsageError } from "../errors";
import { validateImageName } from "../names";
import { isProvMethodName, PROVMETHOD_NAMES } from "../provmethod/names";
import { type AttrSpec, type Attrs, deleteObject, type ObjectType, readObjects, writeObject } from "./object";

export const KNOWN_ARCHES: readonly string[] = ARCHES;
const PATH_COMPONENT = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

const validators: Record<string, (v: string) => string | null> = {
  provmethod: (v) =>
    isProvMethodName(v) ? null : `provmethod must be one of ${PROVMETHOD_NAMES.join(", ")} (xCAT's boottarget, dualboot and raw are not supported by xcimg)`,
  rootfstype: (v) => (v === "nfs" || v === "ramdisk" ? null : "rootfstype must be nfs or ramdisk"),
  nfsrootopts: (v) =>
    v.split(",").some((o) => o.trim() === "rw" || o.trim() === "defaults") ? "nfsrootopts cannot contain 'rw'; statelite NFS roots are always read-only" : null,
  osarch: (v) => archProblem("osarch", v),
  osvers: (v) => (PATH_COMPONENT.test(v) && !v.includes("..") ? null : "osvers is used in paths: letters, digits and . _ + - only (e.g. rhels9.4, debian12)"),
  profile: (v) => (PATH_COMPONENT.test(v) && !v.includes("..") ? null : "profile is used in paths: letters, digits and . _ + - only"),
  rootimgdir: (v) => (v.startsWith("/") && !v.split("/").includes("..") ? null : "rootimgdir must be an absolute path without '..'"),
  addkcmdline: (v) => bootLineProblem(v),
  permission: (v) => (/^[0-7]{3,4}$/.test(v) ? null : "permission must be an octal mode such as 755"),
};

function imageAttrs(): Record<string, AttrSpec> {
  const attrs: Record<string, AttrSpec> = {};
  for (const col of TABLES.osimage.cols)
    if (col !== "imagename") attrs[col] = { table: "osimage", column: col, validate: validators[col], normalize: col === "osarch" ? canonicalArch : undefined };
  for (const col of TABLES.linuximage.cols) {
    if (col === "imagename" || col in attrs) continue; // comments/disable live in osimage, as lsdef shows them once
    attrs[col] = { table: "linuximage", column: col, validate: validators[col] };
  }
  return attrs;
}

export const IMAGE_TYPE: ObjectType = {
  kind: "osimage",
  keyColumn: () => "imagename",
  attrs: imageAttrs(),
};

export interface Image {
  name: string;
  attrs: Attrs;
}

export function listImages(db: Db): string[] {
  const rows = db.all<{ imagename: string }>(`SELECT imagename FROM osimage UNION SELECT imagename FROM linuximage`);
  return rows.map((r) => r.imagename).sort();
}

export function findImage(db: Db, name: string): Image | null {
  const attrs = readObjects(db, IMAGE_TYPE, [name]).get(name);
  return attrs ? { name, attrs } : null;
}

/** The image or a NotFoundError in xCAT's words. */
export function getImage(db: Db, name: string): Image {
  validateImageName(name);
  const img = findImage(db, name);
  if (!img) throw new NotFoundError(`Cannot find image '${name}' from the osimage table.`, { hint: "list images with 'xcimg image list'" });
  return img;
}

/** Create or update (chdef/mkdef): every image gets an osimage and a linuximage row. */
export function setImage(db: Db, name: string, attrs: Attrs): { created: boolean } {
  validateImageName(name);
  const created = findImage(db, name) === null;
  db.write(() => {
    const base: Attrs = created ? { imagetype: "linux", osname: "Linux" } : {};
    writeObject(db, IMAGE_TYPE, name, { ...base, ...attrs });
    // the linuximage row must exist even when no linuximage attribute was given
    upsert(db, "linuximage", { imagename: name }, {});
  });
  return { created };
}

export function removeImageRows(db: Db, name: string): void {
  getImage(db, name);
  db.write(() => {
    deleteObject(db, IMAGE_TYPE, name);
    deleteRows(db, "litefile", { image: name });
    db.run("DELETE FROM xcimg_capture WHERE imagename = ?", name);
  });
}

export function copyImageRows(db: Db, src: string, dst: string): Image {
  const from = getImage(db, src);
  validateImageName(dst);
  if (findImage(db, dst)) throw new UsageError(`image '${dst}' already exists`, { hint: `remove it first with 'xcimg image rm ${dst}'` });
  db.write(() => {
    writeObject(db, IMAGE_TYPE, dst, from.attrs);
    upsert(db, "linuximage", { imagename: dst }, {});
    for (const r of allRows(db, "litefile").filter((r) => r.image === src)) {
      upsert(db, "litefile", { image: dst, file: r.file as string }, { options: r.options, comments: r.comments, disable: r.disable });
    }
  });
  return { name: dst, attrs: from.attrs };
}

/** The value of a required attribute, or xCAT's message for a missing one. */
export function requireAttr(img: Image, attr: string, table = "osimage"): string {
  const v = img.attrs[attr];
  if (!v)
    throw new NotFoundError(`The '${attr}' field is not set for '${img.name}' in the ${table} table.`, {
      hint: `set it with 'xcimg image set ${img.name} ${attr}=...'`,
    });
  return v;
}
