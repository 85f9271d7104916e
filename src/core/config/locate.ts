/**
 * @iarna/toml reports positions only for syntax errors. To name file:line:col for an unknown
 * key or a wrong type we find where a dotted key was written: under a [table] header, as a
 * dotted key (`ssh.port = 22`), or as an inline table member. A key we cannot place falls back
 * to its table header, then to 1:1.
 */
export interface Position {
  line: number;
  col: number;
}

const BARE = /^[A-Za-z0-9_-]+/;

function readKeyPath(text: string, start: number): { parts: string[]; end: number } | null {
  const parts: string[] = [];
  let i = start;
  for (;;) {
    while (text[i] === " " || text[i] === "\t") i++;
    const ch = text[i];
    if (ch === '"' || ch === "'") {
      const close = text.indexOf(ch, i + 1);
      if (close < 0) return null;
      parts.push(text.slice(i + 1, close));
      i = close + 1;
    } else {
      const m = BARE.exec(text.slice(i));
      if (!m) return null;
      parts.push(m[0]);
      i += m[0].length;
    }
    while (text[i] === " " || text[i] === "\t") i++;
    if (text[i] !== ".") return { parts, end: i };
    i++;
  }
}

export function locateKey(source: string, path: string[]): Position {
  const lines = source.split("\n");
  let table: string[] = [];
  let headerPos: Position | null = null;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] ?? "";
    const indent = line.length - line.trimStart().length;
    const trimmed = line.trimStart();
    if (trimmed.startsWith("#") || trimmed === "") continue;
    if (trimmed.startsWith("[")) {
      const arr = trimmed.startsWith("[[");
      const k = readKeyPath(line, indent + (arr ? 2 : 1));
      if (k) {
        table = k.parts;
        if (sameStart(path, table) && table.length <= path.length && !headerPos) headerPos = { line: n + 1, col: indent + 1 };
        if (table.length === path.length && sameStart(path, table)) return { line: n + 1, col: indent + 1 };
      }
      continue;
    }
    const k = readKeyPath(line, indent);
    if (!k || line[k.end] !== "=") continue;
    const full = [...table, ...k.parts];
    if (full.length === path.length && sameStart(path, full)) return { line: n + 1, col: indent + 1 };
    if (full.length < path.length && sameStart(path, full)) {
      // inline table: key = { port = 1 }
      const rest = path.slice(full.length);
      const m = new RegExp(`[{,]\\s*${escapeRe(rest.join("."))}\\s*=`).exec(line);
      if (!m) return { line: n + 1, col: indent + 1 };
      const afterSep = m[0].slice(1);
      return { line: n + 1, col: m.index + 2 + (afterSep.length - afterSep.trimStart().length) };
    }
  }
  return headerPos ?? { line: 1, col: 1 };
}

function sameStart(long: string[], prefix: string[]): boolean {
  if (prefix.length > long.length) return false;
  return prefix.every((p, i) => long[i] === p);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
