import { DataError } from "../errors";

/**
 * `<img>/xcimg.sha256`: the SHA-256 of every file of the image directory, in `sha256sum`
 * format with names relative to that directory, so `cd <img> && sha256sum -c xcimg.sha256`
 * checks an unpacked bundle by hand. xCAT's imgimport ignores the file (it places only the
 * files its manifest names). It guards against corruption and truncation, not tampering:
 * anyone who can change the bundle can rewrite it (sign the bundle for that).
 * Names are raw bytes (latin1 strings); names with `\` or a newline are escaped as
 * sha256sum does (a leading `\` on the line).
 */
export const CHECKSUM_FILE = "xcimg.sha256";

export function formatChecksums(sums: ReadonlyMap<string, string>): Uint8Array {
  const lines: string[] = [];
  for (const name of [...sums.keys()].sort()) {
    const hash = sums.get(name) as string;
    if (/[\\\n]/.test(name)) lines.push(`\\${hash}  ${name.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n`);
    else lines.push(`${hash}  ${name}\n`);
  }
  return Buffer.from(lines.join(""), "latin1");
}

export function parseChecksums(bytes: Uint8Array, file: string): Map<string, string> {
  const out = new Map<string, string>();
  const text = Buffer.from(bytes).toString("latin1");
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((line, i) => {
    const escaped = line.startsWith("\\");
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(escaped ? line.slice(1) : line);
    if (!m) throw new DataError(`${file}:${i + 1}: not a sha256sum line`);
    let name = m[2] as string;
    if (escaped) name = name.replace(/\\(\\|n)/g, (_s, c: string) => (c === "n" ? "\n" : "\\"));
    if (out.has(name)) throw new DataError(`${file}:${i + 1}: '${name}' listed twice`);
    out.set(name, m[1] as string);
  });
  return out;
}
