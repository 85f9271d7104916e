/**
 * Node-side shell scripts are written in parts and shipped as one file: a script's
 * `. "$XC_SRC/<part>.sh"` lines are replaced by that part's text when the binary embeds it
 * (sysclone's clone.sh and its clone.d/ phases; the two initrds' /init and the preamble they
 * share, core/initrd/init-common.sh). One file on the node: nothing to find at run time, and
 * a source line the node cannot follow is impossible.
 */
const SOURCE_LINE = /^\. "\$XC_SRC\/([a-z-]+\.sh)"$/gm;

/** `script` with every part inlined; a part sourced but not given, or given but not sourced once, is a build error. */
export function inlineParts(script: string, parts: Record<string, string>): string {
  const used = new Set<string>();
  const out = script.replace(SOURCE_LINE, (_line, name: string) => {
    const text = parts[name];
    if (text === undefined || used.has(name))
      throw new Error(`internal: a script sources ${name}, which is not one of its parts (${Object.keys(parts).join(", ")})`);
    used.add(name);
    // a part's own shell directive means nothing in the middle of the script
    return text.replace(/^# shellcheck shell=sh.*\n/, "").replace(/\n$/, "");
  });
  const unused = Object.keys(parts).filter((n) => !used.has(n));
  if (unused.length) throw new Error(`internal: the script does not source ${unused.join(", ")}`);
  return out;
}
