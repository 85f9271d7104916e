import type { MethodFacts } from "../../core/provmethod/facts";

/** What core asks about sysclone images (src/core/provmethod/facts.ts). */
export const facts = {
  name: "sysclone",
  description: "diskful clones of a captured golden node",
} as const satisfies MethodFacts;
