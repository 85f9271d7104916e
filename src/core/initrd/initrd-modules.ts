import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NotFoundError } from "../errors";
import { ImageRoot, lstatOrNull } from "../image/image-root";

/**
 * The kernel modules a node needs before its root is mounted: the drivers of any NIC it may
 * boot from and AF_PACKET (for DHCP), plus what the initrd's caller asks for (statelite: the
 * NFS client; a fetched image: squashfs, overlay, loop), with everything they depend on.
 * They come from the image itself (/lib/modules/<version> of the kernel it boots), so
 * they always match the kernel; the management node's own kernel plays no part. Only
 * the list is chosen here; the node's /init loads the NIC drivers its devices ask for
 * (modalias), as udev would.
 */
const NETWORK = [
  /^kernel\/drivers\/net\/ethernet\//,
  /^kernel\/drivers\/net\/(virtio_net|vmxnet3|hyperv|xen-netfront|net_failover)/,
  /^kernel\/drivers\/virtio\//,
  /^kernel\/net\/packet\/af_packet\./,
];

export interface ModuleFile {
  /** Path below /lib/modules/<version>, always ending in .ko (compressed modules are unpacked). */
  name: string;
  data: Buffer;
}

export interface ModuleSet {
  files: ModuleFile[];
  /** modules.dep, modules.alias, modules.builtin for exactly these files (busybox modprobe reads them). */
  index: ModuleFile[];
}

const COMPRESSED = /\.ko\.(xz|gz|zst)$/;
const plain = (p: string) => p.replace(COMPRESSED, ".ko");
const moduleName = (p: string) => (p.slice(p.lastIndexOf("/") + 1).replace(/\.ko(\.(xz|gz|zst))?$/, "") as string).replaceAll("-", "_");

export function imageModulesDir(rootimg: string, version: string): string {
  const dir = new ImageRoot(rootimg).follow(`/lib/modules/${version}`);
  if (!lstatOrNull(dir)?.isDirectory()) {
    throw new NotFoundError(`${rootimg}/lib/modules/${version} does not exist: the image has no modules for the kernel it boots`, {
      hint: "install the kernel's modules in the image (its kernel package), or set linuximage.kernelver",
    });
  }
  return dir;
}

/** Parse modules.dep: module path -> its dependencies (paths relative to the version dir). */
export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    deps.set(
      line.slice(0, colon),
      line
        .slice(colon + 1)
        .split(/\s+/)
        .filter(Boolean),
    );
  }
  return deps;
}

/** The network modules, those `wanted` matches, and their dependency closure, in modules.dep order. */
export function selectModules(deps: Map<string, string[]>, wanted: readonly RegExp[] = []): string[] {
  const chosen = new Set<string>();
  const add = (m: string) => {
    if (chosen.has(m)) return;
    chosen.add(m);
    for (const d of deps.get(m) ?? []) add(d);
  };
  const all = [...NETWORK, ...wanted];
  for (const m of deps.keys()) if (all.some((re) => re.test(m))) add(m);
  return [...deps.keys()].filter((m) => chosen.has(m));
}

export function initrdModules(rootimg: string, version: string, wanted: readonly RegExp[] = []): ModuleSet {
  const dir = imageModulesDir(rootimg, version);
  const read = (f: string) => {
    try {
      return readFileSync(join(dir, f), "utf8");
    } catch {
      return null;
    }
  };
  const depText = read("modules.dep");
  if (depText === null) {
    throw new NotFoundError(`${dir}/modules.dep does not exist`, { hint: `run 'depmod -b ${rootimg} ${version}' (or depmod in the image) once` });
  }
  const deps = parseModulesDep(depText);
  const chosen = selectModules(deps, wanted);
  const names = new Set(chosen.map(moduleName));
  const files = chosen.map((m) => ({ name: plain(m), data: decompress(join(dir, m)) }));
  const dep = chosen.map((m) => `${plain(m)}: ${(deps.get(m) ?? []).map(plain).join(" ")}`.trimEnd()).join("\n");
  const alias = (read("modules.alias") ?? "")
    .split("\n")
    .filter((l) => {
      const parts = l.split(/\s+/);
      return parts[0] === "alias" && parts[2] !== undefined && names.has(parts[2].replaceAll("-", "_"));
    })
    .join("\n");
  const index = [
    { name: "modules.dep", data: Buffer.from(`${dep}\n`) },
    { name: "modules.alias", data: Buffer.from(alias ? `${alias}\n` : "") },
    { name: "modules.builtin", data: Buffer.from(read("modules.builtin") ?? "") },
  ];
  return { files, index };
}

/** busybox insmod takes plain .ko files; the image may ship them xz, gzip or zstd compressed. */
function decompress(file: string): Buffer {
  const raw = readFileSync(file);
  if (file.endsWith(".gz")) return Buffer.from(Bun.gunzipSync(raw as Uint8Array<ArrayBuffer>));
  if (file.endsWith(".zst")) return Buffer.from(Bun.zstdDecompressSync(raw as Uint8Array<ArrayBuffer>));
  if (file.endsWith(".xz")) {
    const r = spawnSync("xz", ["-dc", file], { maxBuffer: 1 << 30 });
    if (r.status !== 0)
      throw new NotFoundError(`cannot unpack ${file}: ${r.error?.message ?? r.stderr.toString().trim()}`, { hint: "install xz-utils on the management node" });
    return r.stdout;
  }
  return raw;
}
