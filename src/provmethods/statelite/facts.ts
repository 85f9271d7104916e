import type { MethodFacts } from "../../core/provmethod/facts";

/** What core asks about statelite images (src/core/provmethod/facts.ts). */
export const facts = {
  name: "statelite",
  description: "shared read-only root with per-node tmpfs and persistent files (litefile table)",
  bundle: {
    lists: "netboot",
    layout: "netboot/{osvers}/{osarch}/{profile}",
    hasImageDir: true,
    cfg: { carries: "boot-files", ramdisk: "initrd-statelite.gz", expandRootimg: true },
    litefile: true,
    remembersFiles: false,
    hooks: () => import("./bundle").then((m) => m.hooks),
  },
} as const satisfies MethodFacts;
