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
  image: {
    home: "profile",
    tree: "rootimg",
    customDir: "diskless",
    // a ramdisk root is copied into each node's RAM; any other rootfstype mounts the tree itself
    nfsRoot: (img) => img.attrs.rootfstype !== "ramdisk",
  },
  // capture -t diskless refreshes an existing statelite image's tree; it never creates one
  // and what `xcimg lite` made in the tree (liteimg.ts) is lost if a capture replaces it
  capture: {
    type: "diskless",
    replaceLoses: [
      { path: ".statelite", what: ".statelite (lite's state)" },
      { path: ".default", what: ".default (the persistent files' defaults)" },
      { path: "etc/init.d/statelite", what: "the init script /etc/init.d/statelite" },
    ],
  },
  // copycds defines a sample <os>-<arch>-statelite-compute over the media (core/media/install-image.ts)
  media: { sample: true },
} as const satisfies MethodFacts;
