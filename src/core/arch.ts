/**
 * Architecture names, one place for every command. xCAT stores x86_64, ppc64le, ppc64, aarch64
 * and s390x (its osimage names and /install/netboot/<os>/<arch>/ paths use them); Debian and
 * Ubuntu media and `dpkg --print-architecture` say amd64, arm64 and ppc64el, and people type
 * x86-64. Those spellings are accepted wherever an architecture is given (node set, image set,
 * stanza files, table set/restore, media, capture) and stored as xCAT's name, so paths and
 * boot files never see two names for one architecture.
 */
export const ARCHES = ["x86_64", "aarch64", "ppc64le", "ppc64", "s390x"] as const;

const ALIASES: Record<string, (typeof ARCHES)[number]> = {
  "x86-64": "x86_64",
  amd64: "x86_64",
  arm64: "aarch64",
  ppc64el: "ppc64le",
};

/** xCAT's name for an architecture, or null when it is none xcimg handles. */
export function canonicalArch(value: string): string | null {
  const v = value.trim();
  if ((ARCHES as readonly string[]).includes(v)) return v;
  return ALIASES[v] ?? ALIASES[v.toLowerCase()] ?? null;
}

/** The message `set` and `restore` give for an unknown architecture, or null. */
export function archProblem(attr: string, value: string): string | null {
  return canonicalArch(value) ? null : `${attr} must be one of ${ARCHES.join(", ")} (also accepted: ${Object.keys(ALIASES).join(", ")})`;
}
