import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fsError } from "../errors";

/**
 * The files bundles brought in, by content: `xcimg import` places a bundle's template in
 * <installdir>/custom/install/<platform>/, exactly where the site keeps its own (that is where
 * xCAT's imgimport puts it too), so the location cannot tell them apart. The install import
 * appends one line per placed file, `<sha256> <image> <path>`, and a render treats a file whose
 * content matches a line as the bundle's, wherever it lies now (copied, renamed). A file the
 * site edits has new content and is then the site's own.
 *
 * The list lives in <installdir>/.xcimg/, which no bundle may write to (bundle/destinations.ts
 * checkDestination), next to import's staging directory.
 */
export function bundleFilesList(installdir: string): string {
  return join(installdir, ".xcimg", "bundle-files");
}

export interface BundleFile {
  sha256: string;
  image: string;
  path: string;
}

export function recordBundleFiles(installdir: string, files: BundleFile[]): void {
  if (files.length === 0) return;
  const list = bundleFilesList(installdir);
  const text = files.map((f) => `${f.sha256} ${f.image} ${f.path.replace(/\n/g, "?")}\n`).join("");
  try {
    mkdirSync(join(installdir, ".xcimg"), { recursive: true, mode: 0o755 });
    // appended, never rewritten: two imports at once each add their lines
    appendFileSync(list, text, { mode: 0o644 });
    const fd = openSync(list, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw fsError(e, `cannot record the bundle's files in ${list}`);
  }
}

/** sha256 → the image whose bundle brought that content. */
export function readBundleFiles(installdir: string): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(bundleFilesList(installdir), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return out;
    throw fsError(e, `cannot read ${bundleFilesList(installdir)}`);
  }
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]{64}) (\S+) /.exec(line);
    if (m && !out.has(m[1] as string)) out.set(m[1] as string, m[2] as string);
  }
  return out;
}
