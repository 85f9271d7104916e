import { basename } from "node:path";
import { TABLES } from "../db/tables";
import { IMAGE_TYPE } from "../defs/image";
import { DataError } from "../errors";
import { isProvMethodName, PROVMETHOD_NAMES } from "../provmethod/names";
import { parseXml, type SimpleValue, toSimple } from "./xml-reader";
import { type XmlValue, xmlSimpleOut } from "./xml-writer";

/**
 * The content of an image's manifest.xml (xcat.md §1.4), in the shape xcimg works with.
 * osimage/linuximage hold raw table columns; `top` holds the top-level scalars.
 */
export interface Manifest {
  osimage: Record<string, string>;
  linuximage: Record<string, string>;
  top: Partial<Record<TopKey, string>>;
  extra: { src: string; dest: string }[];
  rawimagefiles: string[];
  kit: Record<string, Record<string, string>>;
  kitrepo: Record<string, Record<string, string>>;
  kitcomp: Record<string, Record<string, string>>;
  /**
   * Where each referenced file sits in the bundle's image directory when that is not the
   * basename of its path (seed 001 manifest.cfg bundles, and files renamed by -f). Keyed by
   * `fileRefKey()`.
   */
  sources: Record<string, string>;
}

/**
 * Top-level scalars xCAT writes, plus `imagetree`: xcimg's sysclone image, carried as a
 * directory `<img>/imagetree/` (xCAT cannot export or import sysclone on x86 at all).
 */
export const TOP_KEYS = ["kernel", "ramdisk", "rootimg", "rootimgtree", "litefile", "media", "postscripts", "postbootscripts", "imagetree"] as const;
export type TopKey = (typeof TOP_KEYS)[number];

/** The files xCAT's make_files places, by where the path is kept (xcat.md §1.5 step 8). */
export const TOP_FILE_KEYS = ["kernel", "ramdisk", "rootimg", "rootimgtree", "litefile"] as const;
export const LIST_KEYS = [
  ["linuximage", "template"],
  ["linuximage", "pkglist"],
  ["osimage", "synclists"],
  ["linuximage", "otherpkglist"],
  ["linuximage", "postinstall"],
  ["linuximage", "exlist"],
] as const;

export function emptyManifest(): Manifest {
  return { osimage: {}, linuximage: {}, top: {}, extra: [], rawimagefiles: [], kit: {}, kitrepo: {}, kitcomp: {}, sources: {} };
}

export interface FileRef {
  /** "kernel", "linuximage.pkglist", ... */
  key: string;
  /** Position in a comma-separated list. */
  index: number;
  path: string;
}

export function fileRefKey(key: string, index: number): string {
  return `${key}#${index}`;
}

/** Every file path the manifest names, in xCAT's make_files order. */
export function fileRefs(m: Manifest): FileRef[] {
  const out: FileRef[] = [];
  for (const k of TOP_FILE_KEYS) {
    const v = m.top[k];
    if (v) for (const [index, path] of v.split(",").entries()) out.push({ key: k, index, path });
  }
  for (const [table, col] of LIST_KEYS) {
    const v = m[table][col];
    if (v) for (const [index, path] of v.split(",").entries()) out.push({ key: `${table}.${col}`, index, path });
  }
  return out;
}

/** The member name (inside the image directory) that holds a referenced file. */
export function sourceOf(m: Manifest, ref: FileRef): string {
  return m.sources[fileRefKey(ref.key, ref.index)] ?? basename(ref.path);
}

/** Replace one path of a (possibly comma-separated) reference. */
export function setFileRef(m: Manifest, ref: FileRef, path: string): void {
  const source = sourceOf(m, ref);
  const [table, col] = ref.key.includes(".") ? (ref.key.split(".") as ["osimage" | "linuximage", string]) : [null, ref.key];
  const current = (table ? m[table][col] : m.top[col as TopKey]) ?? "";
  const parts = current.split(",");
  parts[ref.index] = path;
  if (table) m[table][col] = parts.join(",");
  else m.top[col as TopKey] = parts.join(",");
  if (basename(path) !== source) m.sources[fileRefKey(ref.key, ref.index)] = source;
  else delete m.sources[fileRefKey(ref.key, ref.index)];
}

// ---- writing -------------------------------------------------------------------------

function nonEmpty(r: Record<string, string>): Record<string, XmlValue> {
  const out: Record<string, XmlValue> = {};
  for (const [k, v] of Object.entries(r)) if (v !== "") out[k] = v;
  return out;
}

/** manifest.xml bytes exactly as xCAT's imgexport writes them for the same data. */
export function manifestXml(m: Manifest): string {
  const data: Record<string, XmlValue> = {
    osimage: nonEmpty(m.osimage),
    linuximage: nonEmpty(m.linuximage),
  };
  for (const k of TOP_KEYS) if (m.top[k] !== undefined) data[k] = m.top[k] as string;
  if (m.extra.length) data.extra = m.extra.map((e) => ({ src: e.src, dest: e.dest }));
  if (m.rawimagefiles.length) data.rawimagefiles = { files: [...m.rawimagefiles] };
  for (const k of ["kit", "kitrepo", "kitcomp"] as const) {
    if (Object.keys(m[k]).length) data[k] = Object.fromEntries(Object.entries(m[k]).map(([n, cols]) => [n, nonEmpty(cols)]));
  }
  return xmlSimpleOut("xcatimage", data);
}

// ---- reading -------------------------------------------------------------------------

function scalar(v: SimpleValue | undefined, what: string, file: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "string") return v;
  if (Array.isArray(v)) throw new DataError(`${file}: <${what}> appears more than once`);
  if (Object.keys(v).length === 0) return ""; // XML::Simple reads <x></x> as {}
  throw new DataError(`${file}: <${what}> must hold text, not elements`);
}

function columns(v: SimpleValue | undefined, what: string, file: string): Record<string, string> {
  if (v === undefined || v === "") return {};
  if (typeof v === "string" || Array.isArray(v)) throw new DataError(`${file}: <${what}> must hold one element per column`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    const s = scalar(val, `${what}><${k}`, file);
    if (s !== undefined && s !== "") out[k] = s;
  }
  return out;
}

function list(v: SimpleValue | undefined): SimpleValue[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** kit/kitrepo/kitcomp: repeated elements with a <name> child; a single one stays a plain hash (xcat.md §1.4). */
function keyed(v: SimpleValue | undefined, what: string, file: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const item of list(v)) {
    if (typeof item !== "object" || Array.isArray(item)) throw new DataError(`${file}: <${what}> must hold columns`);
    const name = scalar(item.name, `${what}><name`, file);
    if (name) {
      const { name: _n, ...rest } = item;
      out[name] = columns(rest, what, file);
    } else {
      // the folded shape: <kit><kitA>...</kitA></kit>
      for (const [k, cols] of Object.entries(item)) out[k] = columns(cols, `${what}><${k}`, file);
    }
  }
  return out;
}

export interface ParsedManifest {
  manifest: Manifest;
  /** Top-level elements xcimg does not use (xCAT ignores them too). */
  ignored: string[];
}

/** manifest.xml as xCAT's imgimport reads it, including 2.7's flat form (manifest_adapter). */
export function parseManifestXml(input: Uint8Array | string, file: string): ParsedManifest {
  let root: SimpleValue;
  try {
    root = toSimple(parseXml(input, file));
  } catch (e) {
    if (e instanceof DataError) {
      throw new DataError(`invalid manifest.xml file inside the bundle.  Please verify the XML`, { hint: e.message });
    }
    throw e;
  }
  if (typeof root === "string") root = {};
  if (Array.isArray(root)) throw new DataError(`${file}: unexpected root content`);
  const data: Record<string, SimpleValue> = { ...root };
  adaptLegacy(data);
  const m = emptyManifest();
  const ignored: string[] = [];
  for (const table of ["osimage", "linuximage"] as const) {
    for (const [col, v] of Object.entries(columns(data[table], table, file))) {
      if ((TABLES[table].cols as readonly string[]).includes(col)) m[table][col] = v;
      else ignored.push(`${table}.${col}`);
    }
  }
  for (const k of TOP_KEYS) {
    const v = scalar(data[k], k, file);
    if (v !== undefined) m.top[k] = v;
  }
  for (const e of list(data.extra)) {
    if (typeof e !== "object" || Array.isArray(e)) throw new DataError(`${file}: <extra> must hold <src> and <dest>`);
    const src = scalar(e.src, "extra><src", file);
    const dest = scalar(e.dest, "extra><dest", file);
    if (!src || !dest) throw new DataError(`${file}: every <extra> needs <src> and <dest>`);
    m.extra.push({ src, dest });
  }
  const raw = data.rawimagefiles;
  if (raw !== undefined && typeof raw === "object" && !Array.isArray(raw)) {
    for (const f of list(raw.files)) {
      const s = scalar(f, "rawimagefiles><files", file);
      if (s) m.rawimagefiles.push(s);
    }
  }
  m.kit = keyed(data.kit, "kit", file);
  m.kitrepo = keyed(data.kitrepo, "kitrepo", file);
  m.kitcomp = keyed(data.kitcomp, "kitcomp", file);
  const known = new Set<string>(["osimage", "linuximage", "extra", "rawimagefiles", "kit", "kitrepo", "kitcomp", ...TOP_KEYS]);
  for (const k of Object.keys(data)) if (!known.has(k)) ignored.push(k);
  return { manifest: m, ignored };
}

/**
 * xCAT 2.7 wrote the columns at the top level. If neither <osimage> nor <linuximage> is
 * present, move every top-level element named like a column into them (imagename to both).
 */
function adaptLegacy(data: Record<string, SimpleValue>): void {
  if (data.osimage !== undefined || data.linuximage !== undefined) return;
  const os: Record<string, SimpleValue> = {};
  const li: Record<string, SimpleValue> = {};
  const moved = new Set<string>();
  for (const col of TABLES.osimage.cols) {
    if (data[col] !== undefined) {
      os[col] = data[col] as SimpleValue;
      moved.add(col);
    }
  }
  for (const col of TABLES.linuximage.cols) {
    if (data[col] !== undefined) {
      li[col] = data[col] as SimpleValue;
      moved.add(col);
    }
  }
  for (const col of moved) delete data[col];
  data.osimage = os;
  data.linuximage = li;
}

// ---- checking ------------------------------------------------------------------------

const REQUIRED = ["imagename", "provmethod", "profile", "osvers", "osarch"] as const;

/**
 * verify_manifest's common checks, with xCAT's messages (xcat.md §1.5 step 4). Trims the
 * fields xCAT trims. Returns the problems; the provmethod adds its own.
 */
export function verifyCommon(m: Manifest): string[] {
  const errs: string[] = [];
  for (const f of REQUIRED) {
    const v = (m.osimage[f] ?? "").trim();
    if (!v) errs.push(`The '${f}' field is not defined in manifest.xml.`);
    else m.osimage[f] = v;
  }
  const pm = m.osimage.provmethod;
  if (pm && !isProvMethodName(pm)) {
    errs.push(`Importing images with 'provmethod' ${pm} is not supported. Hint: ${PROVMETHOD_NAMES.slice(0, -1).join(", ")} or ${PROVMETHOD_NAMES.at(-1)}`);
  }
  if (m.rawimagefiles.length) errs.push("s390x raw image files (<rawimagefiles>) are not supported by xcimg");
  if (errs.length) return errs;
  for (const table of ["osimage", "linuximage"] as const) {
    for (const [col, value] of Object.entries(m[table])) {
      const spec = IMAGE_TYPE.attrs[col];
      if (col === "imagename") continue;
      const problem = spec?.table === table ? spec.validate?.(value) : null;
      if (problem) errs.push(`manifest.xml: invalid ${col}=${value}: ${problem}`);
    }
  }
  return errs;
}
