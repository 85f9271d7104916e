import type { MethodFacts } from "../../core/provmethod/facts";

/** What core asks about install images (src/core/provmethod/facts.ts). */
export const facts = {
  name: "install",
  description: "install the OS from its media with a rendered kickstart, AutoYaST or preseed template",
} as const satisfies MethodFacts;
