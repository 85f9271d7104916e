import { DataError, XcimgError } from "../errors";
import { CONTROL_CHARS, printable } from "../names";
import { type Attrs, type ObjectType, parseAssignments } from "./object";

/**
 * xCAT's stanza files (lsdef -z / mkdef -z / chdef -z): the writer follows lsdef's -z output
 * (xCAT-server/lib/xcat/plugins/DBobjectdefs.pm, defls), the reader follows
 * perl-xCAT/xCAT/DBobjUtils.pm readFileInput:
 *
 *   # <xCAT data object stanza file>
 *
 *   cn001:
 *       objtype=node
 *       groups=all
 *
 * `name:` opens a stanza, `attr=value` lines belong to it (surrounding double quotes are
 * dropped), blank lines and `#` comments are skipped, and a `default-<type>:` stanza gives
 * default attributes to the objects of that type that follow. Unlike xCAT, which skips a line
 * it cannot read, xcimg refuses the whole file and names the line.
 */
export const STANZA_HEADER = "# <xCAT data object stanza file>";

export function formatStanzaFile(objtype: string, objects: readonly (readonly [string, Attrs])[]): string {
  const lines = [STANZA_HEADER];
  for (const [name, attrs] of objects) {
    lines.push("", `${name}:`, `    objtype=${objtype}`);
    for (const k of Object.keys(attrs).sort()) lines.push(`    ${k}=${attrs[k]}`);
  }
  return `${lines.join("\n")}\n`;
}

export interface Stanza {
  name: string;
  objtype: string;
  line: number;
  attrs: Attrs;
}

/** Parse a stanza file for objects of `type`; every attribute is checked as `set` checks it. */
export function parseStanzaFile(text: string, file: string, type: ObjectType, nameProblem: (name: string) => string | null): Stanza[] {
  const fail = (line: number, msg: string, hint?: string): never => {
    throw new DataError(`${file}:${line}: ${msg}`, { hint: hint ?? "fix that line; nothing was changed" });
  };
  const checked = (line: number, name: string, attr: string, value: string): Attrs => {
    try {
      return parseAssignments(type, [`${attr}=${value}`]);
    } catch (e) {
      if (e instanceof XcimgError) fail(line, `${name}: ${e.message}`, e.hint);
      throw e;
    }
  };
  const out: Stanza[] = [];
  const defaults = new Map<string, Attrs>();
  let current: Stanza | null = null;
  let defaultsFor: string | null = null;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const l = (lines[i] as string).replace(/\r$/, "");
    if (/^\s*$/.test(l) || /^\s*#/.test(l)) continue;
    const header = /^\s*([^=]*?)\s*:\s*$/.exec(l);
    if (header && !l.includes("=")) {
      const name = header[1] as string;
      const dflt = /^default-([^-]+)$/.exec(name);
      if (dflt) {
        defaultsFor = dflt[1] as string;
        defaults.set(defaultsFor, defaults.get(defaultsFor) ?? {});
        current = null;
        continue;
      }
      const problem = nameProblem(name);
      if (problem) fail(n, problem);
      if (out.some((s) => s.name === name)) fail(n, `'${name}' is defined twice in this file`);
      defaultsFor = null;
      current = { name, objtype: "", line: n, attrs: {} };
      out.push(current);
      continue;
    }
    const kv = /^\s*(.*?)\s*=\s*(.*?)\s*$/.exec(l);
    if (!kv || (current === null && defaultsFor === null)) {
      fail(n, `'${printable(l)}' is neither 'name:' nor 'attr=value' inside a stanza`);
      continue;
    }
    const attr = kv[1] as string;
    const value = (kv[2] as string).replace(/^\s*"\s*/, "").replace(/\s*"\s*$/, "");
    if (CONTROL_CHARS.test(value)) fail(n, `${attr} holds a control character`);
    if (defaultsFor !== null) {
      // defaults of this command's type are checked like any attribute; others are ignored with their stanzas
      if (defaultsFor === type.kind) checked(n, `default-${defaultsFor}`, attr, value);
      (defaults.get(defaultsFor) as Attrs)[attr] = value;
      continue;
    }
    const st = current as Stanza;
    if (attr === "objtype") {
      st.objtype = value;
      if (value !== type.kind) fail(n, `${st.name} is objtype=${value}; this command reads objtype=${type.kind} stanzas`);
      st.attrs = { ...defaults.get(value), ...st.attrs };
      continue;
    }
    Object.assign(st.attrs, checked(n, st.name, attr, value));
  }
  for (const st of out) {
    if (st.objtype !== "") continue;
    st.objtype = type.kind; // xCAT's -t default; lsdef -z always writes objtype
    st.attrs = { ...defaults.get(type.kind), ...st.attrs };
  }
  if (out.length === 0) throw new DataError(`${file}: no object stanza found`, { hint: "the file should look like 'lsdef -z' or 'xcimg node show -z' output" });
  return out;
}
