import type { MethodFacts } from "../../core/provmethod/facts";

/** What core asks about netboot images (src/core/provmethod/facts.ts). */
export const facts = {
  name: "netboot",
  description: "stateless diskless: the packed root image runs in RAM",
  image: { home: "profile", tree: "rootimg", customDir: "diskless" },
  // -t diskless names a new image <osvers>-<arch>-netboot-<profile> (core/capture/plan.ts)
  capture: { type: "diskless", creates: true },
  genimage: { creates: true },
} as const satisfies MethodFacts;
