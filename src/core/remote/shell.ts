/**
 * Quoting for POSIX sh command lines sent to nodes. Everything we interpolate into a remote
 * script goes through shq(), so a path with spaces, quotes or newlines stays one argument.
 */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A UTF-8 string as a "binary string" (one char per byte). Remote scripts are assembled from
 * binary strings and sent as latin1, so node paths that are not valid UTF-8 (read back from
 * the node as latin1) and user input (UTF-8) both reach the node byte for byte.
 */
export function toBinary(s: string): string {
  return Buffer.from(s, "utf8").toString("latin1");
}
