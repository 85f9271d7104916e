import { join } from "node:path";
import type { MethodFacts } from "../../core/provmethod/facts";
import { cloneArtifacts } from "./manifest-files";
import { cloneDir } from "./paths";

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
  image: {
    // xCAT's place for SystemImager-style images: one directory per image, which is the tree
    home: (installdir, fileName) => join(installdir, "sysclone", "images", fileName),
    tree: ".",
    customDir: "diskful",
    ownFiles: (config, image) => [cloneDir(config, image)], // clone's environment and disk archive
    artifacts: cloneArtifacts,
  },
  // xCAT imgcapture: -t sysclone needs -o; the disk layout is what clone re-creates
  capture: { type: "sysclone", creates: true, needsName: true, probesDisks: true },
} as const satisfies MethodFacts;
