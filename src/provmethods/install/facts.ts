import type { MethodFacts } from "../../core/provmethod/facts";

/** What core asks about install images (src/core/provmethod/facts.ts). */
export const facts = {
  name: "install",
  description: "install the OS from its media with a rendered kickstart, AutoYaST or preseed template",
  bundle: {
    lists: "install",
    // an install image has a directory only when linuximage.rootimgdir names one (core/image/paths.ts)
    layout: "netboot/{osvers}/{osarch}/{profile}",
    hasImageDir: false,
    cfg: { carries: "template" },
    litefile: false,
    remembersFiles: true,
    hooks: () => import("./bundle").then((m) => m.hooks),
  },
  // no tree: the image points at its copied media (pkgdir) and a template
  image: { home: "profile", tree: null, customDir: "diskful" },
  media: { creates: true },
} as const satisfies MethodFacts;
