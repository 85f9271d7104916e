import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { isInside } from "../image/paths";

/**
 * Which files an install template may read, and which of them are the site's own.
 *
 * A rendered answer file is served over HTTP to anyone on the provisioning network, so
 * whatever a template can read ends up there. xCAT's Template.pm includes any path
 * (`#INCLUDE:/etc/shadow#` works); xcimg reads templates, includes and package lists only
 * from `readRoots` (installdir and xCAT's shipped share directory), after resolving symlinks,
 * and only regular files of bounded size.
 *
 * Trust is a second, narrower question: only the site's own templates may use directives that
 * reveal secrets (a cleartext password column, #COMMAND#, ...; see secrets.ts). A file is the
 * site's own when it lies under `ownDirs` (<installdir>/custom/install, xCAT's shipped
 * templates) and did not come from a bundle (`fromBundle`, by content hash: import places a
 * bundle's template in that same directory), or when the site listed it in
 * site.trustedtemplates.
 */
export interface TemplateFilePolicy {
  /** Real directories (or files) anything may be read from. */
  readRoots: string[];
  /** Real directories never read (xcimg's own state under installdir). */
  denied: string[];
  /** Real directories an untrusted template may not read from (image trees, other nodes' answer files). */
  deniedUntrusted: string[];
  /** Real directories holding the site's own templates. */
  ownDirs: string[];
  /** Real files or directories the site vouches for (site.trustedtemplates), bundle-supplied or not. */
  vouched: string[];
  /** The bundle a file's content came from (image name), or undefined. */
  fromBundle(sha256: string): string | undefined;
}

/** An answer file is a few KiB; xCAT's largest shipped template with its includes is ~100 KiB. */
export const MAX_FILE_BYTES = 4 << 20;
/** All reads of one render together (includes can repeat a file without a cycle). */
export const MAX_RENDER_BYTES = 64 << 20;

export class TemplateFileRefused extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export interface TemplateFile {
  text: string;
  real: string;
  /** Why this file may not use secret directives, or undefined when it is the site's own. */
  untrusted?: string;
}

/** Everything one render has read: the byte budget, and per-file results (the same include for 10,000 nodes). */
export class ReadBudget {
  used = 0;
  /** Shared by the renders of one command: every node reads the same few files. */
  constructor(readonly cache: Map<string, TemplateFile> = new Map()) {}
}

function realOf(path: string): string {
  try {
    return realpathSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw Object.assign(new Error(`${path}: ${code ?? e}`), { code });
  }
}

const inAny = (p: string, dirs: string[]) => dirs.some((d) => isInside(p, d));

/** Read a template file under the policy; throws TemplateFileRefused, or an fs error with `code`. */
export function readTemplateFile(path: string, policy: TemplateFilePolicy, budget: ReadBudget, includedByUntrusted: boolean): TemplateFile {
  const real = realOf(path);
  const seen = budget.cache.get(real);
  if (!seen) {
    if (!inAny(real, policy.readRoots) || inAny(real, policy.denied)) {
      throw new TemplateFileRefused(
        `${real !== path ? `it resolves to ${real}, which is` : "it is"} outside the directories templates may read (${policy.readRoots.join(", ")})`,
        "templates and their includes are served to nodes over HTTP, so xcimg reads them only from installdir and xCAT's share directory; copy the file there, or list its directory in site.trustedtemplates if it holds nothing secret",
      );
    }
  }
  const file = seen ?? readChecked(real, policy);
  if (!seen) budget.cache.set(real, file);
  if ((includedByUntrusted || file.untrusted) && inAny(real, policy.deniedUntrusted)) {
    throw new TemplateFileRefused(
      `it is inside an image tree or the answer files, which a template that is not the site's own may not include (${file.untrusted ?? "included by such a template"})`,
      "image trees hold host keys and password hashes; include files from <installdir>/custom or <installdir>/postscripts instead",
    );
  }
  budget.used += file.text.length;
  if (budget.used > MAX_RENDER_BYTES)
    throw new TemplateFileRefused(`the template and its includes would exceed ${MAX_RENDER_BYTES >> 20} MiB`, "an include is repeated or far too large");
  return file;
}

function readChecked(real: string, policy: TemplateFilePolicy): TemplateFile {
  // O_NOFOLLOW: the path was resolved above; a symlink swapped in since is refused, not followed.
  // O_NONBLOCK: opening a FIFO must not hang the render (it is refused below as not a regular file).
  const fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new TemplateFileRefused(
        "it is not a regular file",
        "templates, includes and package lists must be regular files (a FIFO or device would hang or flood the render)",
      );
    if (st.size > MAX_FILE_BYTES)
      throw new TemplateFileRefused(
        `it is ${st.size} bytes; templates and includes may be at most ${MAX_FILE_BYTES >> 20} MiB`,
        "an answer file is a few KiB: check that the path names the file you meant",
      );
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    const data = buf.subarray(0, off);
    return { text: data.toString("utf8"), real, untrusted: untrustedReason(real, createHash("sha256").update(data).digest("hex"), policy) };
  } finally {
    closeSync(fd);
  }
}

function untrustedReason(real: string, sha256: string, policy: TemplateFilePolicy): string | undefined {
  if (inAny(real, policy.vouched)) return undefined;
  const bundle = policy.fromBundle(sha256);
  if (bundle !== undefined) return `${real} came from the bundle of image '${bundle}'`;
  if (!inAny(real, policy.ownDirs)) return `${real} is not in the site's template directory (${policy.ownDirs[0] ?? "none"})`;
  return undefined;
}

/** Resolve the directories of a policy once (missing ones simply match nothing). */
export function realDirs(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    try {
      out.push(realpathSync(p));
    } catch {
      // not there (yet): nothing can be read from it
    }
  }
  return out;
}

/** A policy for tests and tools that read fixture trees: the given roots, all files the site's own. */
export function openPolicy(roots: string[]): TemplateFilePolicy {
  const dirs = realDirs(roots);
  return { readRoots: dirs, denied: [], deniedUntrusted: [], ownDirs: dirs, vouched: [], fromBundle: () => undefined };
}
