import { DataError } from "../errors";

/**
 * A deliberately small, strict XML reader for manifest.xml, a file that arrives inside bundles
 * from strangers. It knows elements, attributes, text, CDATA, comments and processing
 * instructions, the five predefined entities and numeric character references — all that
 * XML::Simple writes or a hand-edited manifest needs. It refuses any DOCTYPE (so no DTD, no
 * entity declarations, no external entities, no "billion laughs"), and bounds size, nesting
 * depth and element count. Errors name line and column.
 */
export interface XmlElement {
  name: string;
  attrs: [string, string][];
  children: XmlElement[];
  /** Character data directly inside this element (all text nodes joined). */
  text: string;
}

export interface XmlLimits {
  maxBytes: number;
  maxDepth: number;
  maxElements: number;
}

export const MANIFEST_LIMITS: XmlLimits = { maxBytes: 1 << 20, maxDepth: 32, maxElements: 100_000 };

const NAME_START = /[A-Za-z_:]/;
const NAME_CHAR = /[A-Za-z0-9._:-]/;
const PREDEFINED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

class Reader {
  pos = 0;
  elements = 0;
  constructor(
    readonly src: string,
    readonly file: string,
    readonly limits: XmlLimits,
  ) {}

  fail(msg: string, at = this.pos): never {
    const before = this.src.slice(0, at);
    const line = before.split("\n").length;
    const col = at - before.lastIndexOf("\n");
    throw new DataError(`${this.file}:${line}:${col}: ${msg}`);
  }

  startsWith(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }

  skipSpace(): void {
    while (this.pos < this.src.length && /[ \t\r\n]/.test(this.src[this.pos] as string)) this.pos++;
  }

  expect(s: string): void {
    if (!this.startsWith(s)) this.fail(`expected '${s}'`);
    this.pos += s.length;
  }

  until(end: string, what: string): string {
    const i = this.src.indexOf(end, this.pos);
    if (i < 0) this.fail(`unterminated ${what}`);
    const s = this.src.slice(this.pos, i);
    this.pos = i + end.length;
    return s;
  }

  name(): string {
    const start = this.pos;
    if (!NAME_START.test(this.src[this.pos] ?? "")) this.fail("expected a name");
    while (this.pos < this.src.length && NAME_CHAR.test(this.src[this.pos] as string)) this.pos++;
    return this.src.slice(start, this.pos);
  }

  /** Text with entity and character references resolved; `stop` ends it. */
  chars(raw: string, at: number): string {
    if (raw.includes("<")) this.fail("'<' is not allowed here", at);
    return raw.replace(/&([^;&\s]*);?/g, (m, ref: string) => {
      if (!m.endsWith(";")) this.fail(`'&' must start a reference such as &amp;`, at);
      if (ref.startsWith("#")) {
        const code = ref.startsWith("#x") ? Number.parseInt(ref.slice(2), 16) : /^#[0-9]+$/.test(ref) ? Number.parseInt(ref.slice(1), 10) : Number.NaN;
        const valid =
          code === 0x9 ||
          code === 0xa ||
          code === 0xd ||
          (code >= 0x20 && code <= 0xd7ff) ||
          (code >= 0xe000 && code <= 0x10ffff && code !== 0xfffe && code !== 0xffff);
        if (!Number.isInteger(code) || !valid) this.fail(`invalid character reference &${ref};`, at);
        return String.fromCodePoint(code);
      }
      const v = PREDEFINED[ref];
      if (v === undefined) this.fail(`undefined entity &${ref}; (only &amp; &lt; &gt; &quot; &apos; are allowed)`, at);
      return v;
    });
  }

  /** Comments, processing instructions and whitespace between elements. */
  misc(): void {
    for (;;) {
      this.skipSpace();
      if (this.startsWith("<!--")) {
        this.pos += 4;
        const body = this.until("-->", "comment");
        if (body.includes("--")) this.fail("'--' is not allowed inside a comment");
      } else if (this.startsWith("<?")) {
        this.pos += 2;
        this.until("?>", "processing instruction");
      } else if (this.startsWith("<!DOCTYPE") || this.startsWith("<!doctype")) {
        this.fail("a DOCTYPE (DTD) is not allowed in a manifest: entity declarations are refused");
      } else if (this.startsWith("<!")) {
        this.fail("markup declarations (<!...>) are not allowed in a manifest");
      } else return;
    }
  }

  element(depth: number): XmlElement {
    if (depth > this.limits.maxDepth) this.fail(`elements nested deeper than ${this.limits.maxDepth} levels`);
    if (++this.elements > this.limits.maxElements) this.fail(`more than ${this.limits.maxElements} elements`);
    this.expect("<");
    const el: XmlElement = { name: this.name(), attrs: [], children: [], text: "" };
    for (;;) {
      const hadSpace = /[ \t\r\n]/.test(this.src[this.pos] ?? "");
      this.skipSpace();
      if (this.startsWith("/>")) {
        this.pos += 2;
        return el;
      }
      if (this.startsWith(">")) {
        this.pos++;
        break;
      }
      if (!hadSpace) this.fail("expected whitespace, '>' or '/>'");
      const attr = this.name();
      if (el.attrs.some(([k]) => k === attr)) this.fail(`attribute '${attr}' given twice`);
      this.skipSpace();
      this.expect("=");
      this.skipSpace();
      const quote = this.src[this.pos];
      if (quote !== '"' && quote !== "'") this.fail("attribute values must be quoted");
      this.pos++;
      const at = this.pos;
      el.attrs.push([attr, this.chars(this.until(quote, "attribute value"), at)]);
    }
    const text: string[] = [];
    for (;;) {
      if (this.pos >= this.src.length) this.fail(`element <${el.name}> is not closed`);
      if (this.startsWith("</")) {
        this.pos += 2;
        const close = this.name();
        if (close !== el.name) this.fail(`</${close}> closes <${el.name}>`);
        this.skipSpace();
        this.expect(">");
        el.text = text.join("");
        return el;
      }
      if (this.startsWith("<![CDATA[")) {
        this.pos += 9;
        text.push(this.until("]]>", "CDATA section"));
      } else if (this.startsWith("<!--") || this.startsWith("<?") || this.startsWith("<!")) {
        this.misc();
      } else if (this.startsWith("<")) {
        el.children.push(this.element(depth + 1));
      } else {
        const at = this.pos;
        const next = this.src.indexOf("<", this.pos);
        const end = next < 0 ? this.src.length : next;
        const raw = this.src.slice(this.pos, end);
        this.pos = end;
        text.push(this.chars(raw, at));
      }
    }
  }
}

export function parseXml(input: string | Uint8Array, file: string, limits: XmlLimits = MANIFEST_LIMITS): XmlElement {
  const size = typeof input === "string" ? Buffer.byteLength(input) : input.byteLength;
  if (size > limits.maxBytes) throw new DataError(`${file} is ${size} bytes, more than the ${limits.maxBytes} a manifest may have`);
  let src: string;
  try {
    src = typeof input === "string" ? input : new TextDecoder("utf-8", { fatal: true }).decode(input);
  } catch {
    throw new DataError(`${file} is not valid UTF-8`);
  }
  if (src.includes("\0")) throw new DataError(`${file} contains a NUL byte`);
  const r = new Reader(src.replace(/^\uFEFF/, ""), file, limits);
  r.misc();
  if (r.pos >= r.src.length) r.fail("no root element");
  const root = r.element(1);
  r.misc();
  if (r.pos < r.src.length) r.fail("content after the root element");
  return root;
}

/** XML::Simple's view of an element (XMLin defaults, no folding): text, or a hash whose repeated keys are arrays. */
export type SimpleValue = string | SimpleValue[] | { [key: string]: SimpleValue };

export function toSimple(el: XmlElement): SimpleValue {
  if (el.children.length === 0 && el.attrs.length === 0) return el.text;
  const out: { [key: string]: SimpleValue } = Object.create(null);
  const arrays: Record<string, true> = Object.create(null);
  const add = (k: string, v: SimpleValue) => {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev) && Object.hasOwn(arrays, k)) prev.push(v);
    else {
      out[k] = [prev, v];
      arrays[k] = true;
    }
  };
  for (const [k, v] of el.attrs) add(k, v);
  for (const c of el.children) add(c.name, toSimple(c));
  return out;
}
