import type { MethodFacts } from "../../core/provmethod/facts";

/** What core asks about sysclone images (src/core/provmethod/facts.ts). */
export const facts = {
  name: "sysclone",
  description: "diskful clones of a captured golden node",
  bundle: {
    lists: "netboot",
    layout: "sysclone/images/{imagename}",
    hasImageDir: true,
    // seed 001's manifest.cfg predates sysclone: it has no key for an image tree
    litefile: false,
    remembersFiles: false,
    hooks: () => import("./bundle").then((m) => m.hooks),
  },
} as const satisfies MethodFacts;
