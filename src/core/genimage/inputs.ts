import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import type { Image } from "../defs/image";
import { DataError, NotFoundError } from "../errors";
import { builtinPkgList } from "./defaults";
import type { OsFamily } from "./family";
import { customDir, profileFile } from "./lookup";
import { type PkgList, parsePkgListText, readPkgLists, splitList } from "./pkglist";

/**
 * The image's genimage inputs, read as xCAT's genimage reads them: the linuximage row first,
 * else the profile files in <installdir>/custom/netboot/<family>/, else (pkglist only) the list
 * built into xcimg. Everything is read and checked here, before any lock or tree is touched.
 */
export interface Inputs {
  pkglist: PkgList;
  pkglistSource: string;
  /** Set when the list was found by lookup in the custom directory: written back into the row, as xCAT does. */
  foundPkglist?: string;
  otherpkglist: PkgList | null;
  pkgdir: string;
  otherpkgdir: string;
  postinstall: { script: string; args: string[] }[];
  environ: Record<string, string>;
  digest: string;
}

export function readInputs(config: Config, img: Image, family: OsFamily, osvers: string, arch: string, profile: string): Inputs {
  const a = img.attrs;
  const custom = customDir(config.installdir, family);
  let pkglist: PkgList;
  let pkglistSource: string;
  let foundPkglist: string | undefined;
  let builtinText = "";
  if (a.pkglist) {
    pkglist = readPkgLists(a.pkglist, "pkglist");
    pkglistSource = a.pkglist;
  } else {
    const found = profileFile(custom, osvers, arch, profile, "pkglist");
    if (found) {
      pkglist = readPkgLists(found, "pkglist");
      pkglistSource = foundPkglist = found;
    } else {
      const b = builtinPkgList(family, arch);
      pkglist = parsePkgListText(b.text, b.name, custom);
      builtinText = b.text;
      pkglistSource = b.name;
    }
  }
  if (!pkglist.passes.some((p) => p.install.length))
    throw new DataError(`the package list ${pkglistSource} names no package to install`, { hint: "add package names, one per line" });
  const otherName = a.otherpkglist || profileFile(custom, osvers, arch, profile, "otherpkgs.pkglist") || "";
  const otherpkglist = otherName ? readPkgLists(otherName, "otherpkglist") : null;
  const defaultPkgdir = join(config.installdir, osvers, arch);
  const rpmBased = family.backend !== "debian";
  const pkgdir = a.pkgdir || (rpmBased || existsSync(join(defaultPkgdir, "dists")) ? defaultPkgdir : "");
  const otherpkgdir = a.otherpkgdir || "";
  if (otherpkglist && !otherpkgdir && rpmBased) {
    throw new DataError(`otherpkglist ${otherName} is set but otherpkgdir is not`, {
      hint: `set otherpkgdir to the repository holding those packages ('xcimg image set ${img.name} otherpkgdir=/install/post/otherpkgs/${osvers}/${arch}')`,
    });
  }
  const postinstallAttr = a.postinstall || profileFile(custom, osvers, arch, profile, "postinstall") || "";
  const postinstall = splitList(postinstallAttr).map((entry) => {
    const [script = "", ...args] = entry.split(/\s+/);
    checkExecutable(script);
    return { script, args };
  });
  const environ: Record<string, string> = {};
  for (const kv of splitList(a.environvar)) {
    const [k = "", ...v] = kv.split("=");
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k.trim())) environ[k.trim()] = v.join("=").trim();
    else throw new DataError(`osimage.environvar entry '${kv}' is not NAME=value`, { hint: "write environvar as K=V,K2=V2" });
  }
  const h = createHash("sha256");
  const add = (s: string) => h.update(`${s}\0`);
  for (const s of [osvers, arch, profile, pkgdir, otherpkgdir, a.kernelver ?? "", JSON.stringify(environ), postinstallAttr, builtinText]) add(s);
  for (const f of [...pkglist.files, ...(otherpkglist?.files ?? []), ...postinstall.map((p) => p.script)]) add(safeContent(f));
  return { pkglist, pkglistSource, foundPkglist, otherpkglist, pkgdir, otherpkgdir, postinstall, environ, digest: h.digest("hex") };
}

function checkExecutable(script: string): void {
  if (!script.startsWith("/"))
    throw new DataError(`postinstall script '${script}' is not an absolute path`, {
      hint: "linuximage.postinstall takes absolute paths, comma separated, each with its arguments",
    });
  try {
    if (!statSync(script).isFile()) throw new Error("not a file");
  } catch {
    throw new NotFoundError(`postinstall script ${script} does not exist`, { hint: "fix linuximage.postinstall" });
  }
  try {
    accessSync(script, constants.X_OK);
  } catch {
    throw new DataError(`postinstall script ${script} is not executable`, { hint: `chmod +x ${script}` });
  }
}

function safeContent(f: string): string {
  try {
    return readFileSync(f, "utf8");
  } catch {
    return f; // the built-in list: its text is hashed above
  }
}
