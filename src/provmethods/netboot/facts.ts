import type { MethodFacts } from "../../core/provmethod/facts";

/** What core asks about netboot images (src/core/provmethod/facts.ts). */
export const facts = {
  name: "netboot",
  description: "stateless diskless: the packed root image runs in RAM",
  bundle: {
    lists: "netboot",
    layout: "netboot/{osvers}/{osarch}/{profile}",
    hasImageDir: true,
    cfg: { carries: "boot-files", ramdisk: "initrd-stateless.gz", expandRootimg: true },
    litefile: false,
    remembersFiles: false,
    hooks: () => import("./bundle").then((m) => m.hooks),
  },
  image: { home: "profile", tree: "rootimg", customDir: "diskless" },
  // -t diskless names a new image <osvers>-<arch>-netboot-<profile> (core/capture/plan.ts)
  capture: { type: "diskless", creates: true },
  genimage: { creates: true },
  // copycds defines a sample <os>-<arch>-netboot-compute over the media (core/media/install-image.ts)
  media: { sample: true },
} as const satisfies MethodFacts;
