import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { canonicalArch } from "../arch";
import { DataError, NotFoundError } from "../errors";

/**
 * What distribution and architecture an OS media tree holds, read from the files installers
 * themselves use, as xCAT's copycds does per plugin:
 *   .treeinfo / .discinfo          RHEL, Rocky, Alma, CentOS, Oracle Linux, Fedora (anaconda.pm)
 *   media.1/media, content         SLES / openSUSE Leap, in the tree or its disc directory 1/ (sles.pm)
 *   .disk/info                     Debian and Ubuntu ISO trees (debian.pm)
 *   dists/<suite>/Release          Debian/Ubuntu mirror or netboot trees (xcimg's addition)
 * osvers follows xCAT's names: rhels9.4, rocky9.4, alma9.4, centos-stream9, ol9.4, fedora40,
 * sle15.5, sles12.3, leap15.5, debian12.5.0, ubuntu22.04.3.
 */
export interface MediaInfo {
  osvers: string;
  arch: string;
  /** Which file told us, for messages. */
  evidence: string;
}

function normArch(a: string | undefined): string | undefined {
  return a ? (canonicalArch(a) ?? undefined) : undefined;
}

function read(p: string): string | undefined {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}

/** RHEL-like distribution names as they appear in .treeinfo family/name and .discinfo. */
const RH_NAMES: [RegExp, string][] = [
  [/^Red Hat Enterprise Linux/i, "rhels"],
  [/^Rocky( Linux)?/i, "rocky"],
  [/^AlmaLinux/i, "alma"],
  [/^CentOS Stream/i, "centos-stream"],
  [/^CentOS( Linux)?/i, "centos"],
  [/^Oracle Linux/i, "ol"],
  [/^Fedora/i, "fedora"],
];

function rhOsvers(name: string, version: string): string | undefined {
  const prefix = RH_NAMES.find(([re]) => re.test(name.trim()))?.[1];
  const v = /\d+(\.\d+)*/.exec(version)?.[0];
  return prefix && v ? `${prefix}${v}` : undefined;
}

/** A minimal INI reader for .treeinfo: section → key → value. */
function ini(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1] as string;
      out[section] ??= {};
      continue;
    }
    const kv = /^([^=#;]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && section) (out[section] as Record<string, string>)[kv[1] as string] = kv[2] as string;
  }
  return out;
}

function fromTreeinfo(dir: string): MediaInfo | undefined {
  const text = read(join(dir, ".treeinfo"));
  if (!text) return undefined;
  const t = ini(text);
  const name = t.release?.name ?? t.general?.family ?? "";
  const version = t.release?.version ?? t.general?.version ?? "";
  const arch = normArch(t.tree?.arch ?? t.general?.arch);
  const osvers = rhOsvers(name, version);
  return osvers && arch ? { osvers, arch, evidence: ".treeinfo" } : undefined;
}

function fromDiscinfo(dir: string): MediaInfo | undefined {
  const lines = read(join(dir, ".discinfo"))?.split("\n");
  if (!lines) return undefined;
  const desc = (lines[1] ?? "").trim();
  const arch = normArch(lines[2]);
  const m = /^(.*?)\s+(\d+(\.\d+)*)/.exec(desc);
  const osvers = m ? rhOsvers(m[1] as string, m[2] as string) : undefined;
  return osvers && arch ? { osvers, arch, evidence: ".discinfo" } : undefined;
}

function fromSuse(dir: string): MediaInfo | undefined {
  for (const root of [dir, join(dir, "1")]) {
    const media = read(join(root, "media.1", "media"));
    if (media) {
      const arch = /x86_64/.test(media)
        ? "x86_64"
        : /aarch64/.test(media)
          ? "aarch64"
          : /ppc64le/.test(media)
            ? "ppc64le"
            : /s390x/.test(media)
              ? "s390x"
              : undefined;
      const sle = /SLE-(\d+)(?:-SP(\d+))?/.exec(media);
      const leap = /openSUSE-Leap[- ](\d+\.\d+)/i.exec(media) ?? /Leap[- ](\d+\.\d+)/i.exec(read(join(root, "media.1", "products")) ?? "");
      let osvers: string | undefined;
      if (leap) osvers = `leap${leap[1]}`;
      else if (sle) osvers = Number(sle[1]) >= 15 ? `sle${sle[1]}${sle[2] ? `.${sle[2]}` : ""}` : `sles${sle[1]}${sle[2] ? `.${sle[2]}` : ""}`;
      if (osvers && arch) return { osvers, arch, evidence: join(root === dir ? "" : "1", "media.1/media") };
    }
    const content = read(join(root, "content"));
    if (content) {
      const ver = /^VERSION\s+(\d+)(?:\.(\d+))?/m.exec(content) ?? /^LABEL\s+SUSE Linux Enterprise Server (\d+)(?: SP(\d+))?/m.exec(content);
      const arch = normArch(/^BASEARCHS\s+(\S+)/m.exec(content)?.[1]);
      if (ver && arch)
        return { osvers: `sles${ver[1]}${ver[2] && ver[2] !== "0" ? `.${ver[2]}` : ""}`, arch, evidence: join(root === dir ? "" : "1", "content") };
    }
  }
  return undefined;
}

function fromDiskInfo(dir: string): MediaInfo | undefined {
  const line = read(join(dir, ".disk", "info"))?.split("\n")[0];
  if (!line) return undefined;
  const w = line.split(" ");
  if (w[0] === "Debian") {
    const arch = normArch(w[6]);
    return w[2] && arch ? { osvers: `debian${w[2]}`, arch, evidence: ".disk/info" } : undefined;
  }
  if (w[0] === "Ubuntu" || w[0] === "Ubuntu-Server") {
    const arch = normArch(w[2] === "LTS" ? w[7] : w[6]);
    return w[1] && arch ? { osvers: `ubuntu${w[1]}`, arch, evidence: ".disk/info" } : undefined;
  }
  return undefined;
}

function fromDists(dir: string): MediaInfo | undefined {
  const dists = join(dir, "dists");
  if (!existsSync(dists)) return undefined;
  for (const suite of readdirSync(dists).sort()) {
    const text = read(join(dists, suite, "Release"));
    if (!text) continue;
    const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, "m").exec(text)?.[1]?.trim();
    const origin = field("Origin");
    const version = field("Version");
    const archs = (field("Architectures") ?? "")
      .split(/\s+/)
      .map(normArch)
      .filter((a): a is string => Boolean(a));
    const prefix = origin === "Debian" ? "debian" : origin === "Ubuntu" ? "ubuntu" : undefined;
    if (prefix && version && archs.length === 1) return { osvers: `${prefix}${version}`, arch: archs[0] as string, evidence: `dists/${suite}/Release` };
  }
  return undefined;
}

/** Read the media's identity, or say exactly why we cannot. */
export function detectMedia(dir: string): MediaInfo {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(dir);
  } catch {
    throw new NotFoundError(`media directory ${dir} does not exist`, { hint: "copy or loop-mount the installation media there first" });
  }
  if (!st.isDirectory()) throw new DataError(`${dir} is not a directory`, { hint: "give the directory the media was copied or mounted to" });
  const found = fromTreeinfo(dir) ?? fromDiscinfo(dir) ?? fromSuse(dir) ?? fromDiskInfo(dir) ?? fromDists(dir);
  if (found) return found;
  throw new DataError(
    `cannot tell which distribution the media in ${dir} is: no usable .treeinfo, .discinfo, media.1/media, content, .disk/info or dists/*/Release`,
    {
      hint: "name it yourself with -n <osvers> -a <arch>, e.g. -n rhels9.4 -a x86_64",
    },
  );
}
