/**
 * XML::Simple 2.25's XMLout, as xCAT's imgexport calls it
 * (`XMLout($attrs, RootName => 'xcatimage', noattr => 1, xmldecl => '<?xml version="1.0"?>')`),
 * reproduced byte for byte for the shapes a manifest holds (xcat.md §1.4; the golden tests
 * in test/core/bundle/ were produced by running XML::Simple itself):
 * - every hash key is a child element, two spaces of indentation per level;
 * - keys sorted, except that the first of `name`, `key`, `id` present comes first (the
 *   default KeyAttr list);
 * - arrays become repeated elements;
 * - a non-root hash whose values are all hashes is "unfolded": one element per key, in key
 *   order, with `<name>key</name>` injected (kit, kitrepo, kitcomp);
 * - text escapes & < > " (not '), and an empty string or empty hash is `<x></x>`.
 */
export type XmlValue = string | XmlValue[] | { [key: string]: XmlValue };

const KEY_ATTRS = ["name", "key", "id"];

function isHash(v: XmlValue): v is { [key: string]: XmlValue } {
  return typeof v === "object" && !Array.isArray(v);
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Perl's `sort keys` compares strings bytewise; for the ASCII names in manifests that is code-unit order. */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedKeys(hash: { [key: string]: XmlValue }): string[] {
  const keys = Object.keys(hash).sort(byteOrder);
  const first = KEY_ATTRS.find((k) => Object.hasOwn(hash, k));
  return first === undefined ? keys : [first, ...keys.filter((k) => k !== first)];
}

/** XML::Simple's hash_to_array: unfold a hash of hashes, or return it unchanged. */
function unfold(hash: { [key: string]: XmlValue }): XmlValue {
  const keys = Object.keys(hash).sort(byteOrder);
  if (keys.length === 0) return hash;
  const out: XmlValue[] = [];
  for (const k of keys) {
    const v = hash[k] as XmlValue;
    if (!isHash(v)) return hash;
    out.push({ name: k, ...v });
  }
  return out;
}

function element(name: string, value: XmlValue, indent: string, out: string[]): void {
  if (typeof value === "string") {
    out.push(`${indent}<${name}>${escapeXml(value)}</${name}>\n`);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) element(name, v, indent, out);
    return;
  }
  const unfolded = unfold(value);
  if (Array.isArray(unfolded)) {
    element(name, unfolded, indent, out);
    return;
  }
  const keys = sortedKeys(value);
  if (keys.length === 0) {
    out.push(`${indent}<${name}></${name}>\n`);
    return;
  }
  out.push(`${indent}<${name}>\n`);
  for (const k of keys) element(k, value[k] as XmlValue, `${indent}  `, out);
  out.push(`${indent}</${name}>\n`);
}

export function xmlSimpleOut(rootName: string, data: { [key: string]: XmlValue }): string {
  const out: string[] = ['<?xml version="1.0"?>\n', `<${rootName}>\n`];
  // the root hash itself is never unfolded (XML::Simple's $is_root)
  for (const k of sortedKeys(data)) element(k, data[k] as XmlValue, "  ", out);
  out.push(`</${rootName}>\n`);
  return out.join("");
}
