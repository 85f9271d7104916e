import { printableName, type TarEntry } from "../bundle/tar";
import { MANIFEST_FILE, SIGNATURE_SUFFIX } from "./manifest";

/**
 * What a signed bundle's manifest says about the bundle itself: every member of the image's
 * directory with its type, mode, owners, size and the SHA-256 of its data (or its link
 * target), extended attributes and device numbers, as GNU tar wrote the headers. Import compares the bundle it vetted with this list,
 * so an added, removed or changed member — a byte of the root image, a new file under extra/,
 * an edited manifest.xml — is named. mtimes are left out: they are not what a node runs.
 * The checksum file and the signed manifest and its signature are not listed (the first is
 * derived from the rest, the other two are the statement).
 */
export interface StatementMember {
  name: string;
  type: TarEntry["type"];
  mode: number;
  uid: number;
  gid: number;
  size: number;
  sha256?: string;
  link?: string;
  /** SHA-256 of the member's xattrs/ACLs/SELinux label records (image trees only). */
  attrs?: string;
  /** "major,minor" of a device. */
  dev?: string;
}

export interface BundleStatement {
  dir: string;
  members: StatementMember[];
}

const NOT_LISTED = new Set(["xcimg.sha256", MANIFEST_FILE, MANIFEST_FILE + SIGNATURE_SUFFIX]);

/** Whether a member belongs in the image's statement. */
export function listed(dir: string, name: string): boolean {
  if (name !== dir && !name.startsWith(`${dir}/`)) return false;
  return !NOT_LISTED.has(name.slice(dir.length + 1));
}

export function statementMember(name: string, e: TarEntry, sha256: string | undefined): StatementMember {
  const m: StatementMember = { name, type: e.type, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, size: e.type === "file" ? e.size : 0 };
  if (e.type === "file") m.sha256 = sha256;
  if (e.type === "symlink" || e.type === "hardlink") m.link = e.linkname;
  if (e.attrsSha256) m.attrs = e.attrsSha256;
  if (e.dev) m.dev = e.dev.join(",");
  return m;
}

function describe(m: StatementMember): string {
  return `${m.type}${m.sha256 ? ` sha256:${m.sha256.slice(0, 16)}…` : ""}${m.link !== undefined ? ` -> ${printableName(m.link)}` : ""}`;
}

/** Differences between what was signed and what the bundle holds, in words; empty when equal. */
export function compareStatement(signed: StatementMember[], actual: StatementMember[], limit = 10): string[] {
  const want = new Map(signed.map((m) => [m.name, m]));
  const out: string[] = [];
  for (const a of actual) {
    const w = want.get(a.name);
    want.delete(a.name);
    if (!w) {
      out.push(`added: ${printableName(a.name)} (${describe(a)})`);
      continue;
    }
    const fields = (["type", "mode", "uid", "gid", "size", "sha256", "link", "attrs", "dev"] as const).filter((k) => w[k] !== a[k]);
    if (fields.length) {
      const show = (m: StatementMember, k: (typeof fields)[number]) =>
        k === "mode" ? (m.mode ?? 0).toString(8) : k === "link" ? (m.link === undefined ? "none" : printableName(m.link)) : String(m[k] ?? "none");
      out.push(`changed: ${printableName(a.name)} (${fields.map((k) => `${k} ${show(w, k)} → ${show(a, k)}`).join(", ")})`);
    }
  }
  for (const w of want.values()) out.push(`missing: ${printableName(w.name)} (${describe(w)})`);
  if (out.length > limit) return [...out.slice(0, limit), `… and ${out.length - limit} more`];
  return out;
}

export function parseStatement(v: unknown, where: string): BundleStatement | null {
  if (v === undefined) return null;
  const s = v as BundleStatement;
  if (!s || typeof s.dir !== "string" || !Array.isArray(s.members) || s.members.some((m) => !m || typeof m.name !== "string" || typeof m.type !== "string"))
    throw new Error(`${where}: the bundle section is malformed`);
  return s;
}
