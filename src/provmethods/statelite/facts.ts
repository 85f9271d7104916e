import type { MethodFacts } from "../../core/provmethod/facts";

/** What core asks about statelite images (src/core/provmethod/facts.ts). */
export const facts = {
  name: "statelite",
  description: "shared read-only root with per-node tmpfs and persistent files (litefile table)",
} as const satisfies MethodFacts;
