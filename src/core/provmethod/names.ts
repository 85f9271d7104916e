/**
 * The provisioning methods xcimg implements. The same string is the registry key, the folder
 * under src/provmethods/, the value of osimage.provmethod and what the command line accepts.
 */
export const PROVMETHOD_NAMES = ["install", "netboot", "statelite", "sysclone"] as const;
export type ProvMethodName = (typeof PROVMETHOD_NAMES)[number];

export function isProvMethodName(s: string): s is ProvMethodName {
  return (PROVMETHOD_NAMES as readonly string[]).includes(s);
}
