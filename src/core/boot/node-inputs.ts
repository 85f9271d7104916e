/**
 * One text for a value, the same whenever the value is: object keys sorted, Maps and Sets by
 * their sorted entries, bytes by their SHA-256. It is what core/boot/node-record.ts digests to
 * know whether a node's boot files were rendered from exactly these inputs. A function has no
 * such text: handing one in is a bug, and it throws rather than be left out of the digest.
 */
export function canonical(v: unknown): string {
  if (v === undefined) return "u";
  if (v === null || typeof v === "number" || typeof v === "boolean" || typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  if (v instanceof Uint8Array) return `b${Bun.SHA256.hash(v, "hex")}`;
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v instanceof Map) return `M${canonical(Object.fromEntries([...v].map(([k, x]) => [String(k), x])))}`;
  if (v instanceof Set) return `S${canonical([...v].map(canonical).sort())}`;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  throw new TypeError(`a ${typeof v} cannot be part of a node's boot inputs`);
}

/** SHA-256 (base64) of the values' canonical texts, in order, one per line (canonical texts hold no raw newline). */
export function inputsDigest(...parts: unknown[]): string {
  return Bun.SHA256.hash(parts.map(canonical).join("\n"), "base64") as unknown as string;
}

/**
 * The per-node digest, made 10,000 times a run, from objects the boot loop builds itself in an
 * order its code fixes (boot.ts afterRun for the attributes): native JSON keeps it at a few
 * microseconds a node. An object built in another key order only misses the record — the node
 * is rendered again — never the other way round. canonical() is for the run's inputs, made once.
 */
export function nodeDigest(runKey: string, node: string, parts: readonly unknown[]): string {
  return Bun.SHA256.hash(`${runKey}\n${node}\n${JSON.stringify(parts)}`, "base64") as unknown as string;
}
