import type { MethodFacts } from "../../core/provmethod/facts";

/** What core asks about netboot images (src/core/provmethod/facts.ts). */
export const facts = {
  name: "netboot",
  description: "stateless diskless: the packed root image runs in RAM",
} as const satisfies MethodFacts;
