/**
 * The status files nodes keep (/run/xcimg/clone.status, the postscript runner's state): one
 * key=value per line, read over SSH by `clone --status` and `node status`.
 */
export function parseStatus(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
