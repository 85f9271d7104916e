import { join } from "node:path";
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
  image: {
    home: "profile",
    tree: null,
    customDir: "diskful",
    // what an installing node fetches from its server besides its answer file: the media
    // (planInstall's pkgdir default), other package directories, and the site's templates and
    // package lists, which the server renders answer files from
    sharedDirs: (config, img) => {
      const { osvers, osarch } = img.attrs;
      const media = img.attrs.pkgdir || (osvers && osarch ? join(config.installdir, osvers, osarch) : "");
      const list = (v: string | undefined) =>
        (v ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.startsWith("/"));
      return [...new Set([...list(media), ...list(img.attrs.otherpkgdir), join(config.installdir, "custom", "install")])];
    },
  },
  media: { creates: true },
} as const satisfies MethodFacts;
