import { DataError } from "../errors";
import { allMethodFacts, methodFacts } from "../provmethod/facts";
import { isProvMethodName } from "../provmethod/names";
import { emptyManifest, fileRefKey, type Manifest } from "./manifest";
import { layoutDir } from "./method";

/**
 * The manifest.cfg form of seed 001 ("System of Making Images portable within xCAT"), the
 * design that preceded xCAT's manifest.xml: `key value` pairs, `#` comments, one image per
 * bundle, files flat next to it. Pairs may share a line (the seed's examples put them all
 * on one). Keys: name os arch profile method initrd template rootimg kernel media extra.
 * Files are placed where xCAT keeps them (see docs/bundles.md), so the result is an ordinary
 * manifest; what each method's manifest.cfg carries is its bundle facts' `cfg`
 * (core/bundle/method.ts).
 */
const KEYS = new Set(["name", "os", "arch", "profile", "method", "initrd", "template", "rootimg", "kernel", "media", "extra"]);
const PLATFORMS: [RegExp, string][] = [
  [/^rh/, "rh"],
  [/^centos/, "centos"],
  [/^alma/, "alma"],
  [/^rocky/, "rocky"],
  [/^fedora/, "fedora"],
  [/^sles/, "sles"],
  [/^SL/, "SL"],
  [/win/, "windows"],
  [/^ubuntu/, "ubuntu"],
];

/** xCAT's platform directory for an osvers (change_profile); other distributions use the name without its version. */
export function platformOf(osvers: string): string {
  for (const [re, p] of PLATFORMS) if (re.test(osvers)) return p;
  return osvers.replace(/[0-9.]+.*$/, "") || osvers;
}

export interface CfgBundle {
  manifest: Manifest;
  /** extra files: member name → destination directory */
  extras: { file: string; dest: string }[];
}

export function parseManifestCfg(text: string, file: string, installdir: string): CfgBundle {
  const pairs = new Map<string, string>();
  const extras: { file: string; dest: string }[] = [];
  text.split("\n").forEach((rawLine, i) => {
    const line = rawLine.replace(/#.*$/, "").trim();
    if (!line) return;
    const words = line.split(/\s+/);
    if (words.length % 2 !== 0) throw new DataError(`${file}:${i + 1}: expected 'key value' pairs, got '${line}'`);
    for (let w = 0; w < words.length; w += 2) {
      const key = (words[w] as string).toLowerCase();
      const value = words[w + 1] as string;
      if (!KEYS.has(key)) throw new DataError(`${file}:${i + 1}: unknown key '${key}'`, { hint: `manifest.cfg keys: ${[...KEYS].join(" ")}` });
      if (key === "extra") {
        const colon = value.indexOf(":");
        if (colon <= 0 || colon === value.length - 1) throw new DataError(`${file}:${i + 1}: extra needs <filename>:<directory>, got '${value}'`);
        extras.push({ file: value.slice(0, colon), dest: value.slice(colon + 1) });
      } else if (pairs.has(key)) {
        throw new DataError(`${file}:${i + 1}: '${key}' given twice`);
      } else pairs.set(key, value);
    }
  });
  const need = (k: string, why = "") => {
    const v = pairs.get(k);
    if (!v) throw new DataError(`${file}: '${k}' is required${why}`);
    return v;
  };
  const name = need("name");
  const os = need("os");
  const arch = need("arch");
  const profile = need("profile");
  const method = need("method");
  const cfg = isProvMethodName(method) ? methodFacts(method).bundle.cfg : undefined;
  if (!cfg) {
    const can = allMethodFacts().filter((f) => f.bundle.cfg);
    throw new DataError(
      `${file}: method must be ${can
        .slice(0, -1)
        .map((f) => f.name)
        .join(", ")} or ${can.at(-1)?.name}, not '${method}'`,
    );
  }
  const m = emptyManifest();
  m.osimage = { imagename: name, profile, imagetype: "linux", provmethod: method, osname: "Linux", osvers: os, osarch: arch };
  m.linuximage = { imagename: name };
  const platform = platformOf(os);
  const { lists, layout } = methodFacts(method).bundle;
  if (cfg.carries === "template") {
    const tmpl = need("template", ` for method ${method}`);
    m.linuximage.template = `${installdir}/custom/${lists}/${platform}/${tmpl}`;
    m.top.media = pairs.get("media") ?? "required";
  } else {
    const dir = layoutDir(layout, installdir, { osvers: os, osarch: arch, profile, imagename: name });
    m.linuximage.rootimgdir = dir;
    const initrd = need("initrd", ` for method ${method}`);
    const kernel = need("kernel", ` for method ${method}`);
    const rootimg = need("rootimg", ` for method ${method}`);
    m.top.kernel = `${dir}/kernel`;
    m.top.ramdisk = `${dir}/${cfg.ramdisk}`;
    m.top.rootimg = `${dir}/${/^rootimg\.(cpio\.gz|cpio\.xz|tar\.gz|tar\.xz|sfs|gz)$/.test(rootimg) ? rootimg : "rootimg.gz"}`;
    m.sources[fileRefKey("kernel", 0)] = kernel;
    m.sources[fileRefKey("ramdisk", 0)] = initrd;
    m.sources[fileRefKey("rootimg", 0)] = rootimg;
    if (pairs.has("media")) m.top.media = pairs.get("media") as string;
  }
  // the seed's destinations are written for xCAT's default installdir
  const onSite = (d: string) => (d === "/install" || d.startsWith("/install/") ? installdir + d.slice("/install".length) : d);
  for (const e of extras) {
    e.dest = onSite(e.dest);
    m.extra.push({ src: e.file, dest: e.dest });
  }
  return { manifest: m, extras };
}
