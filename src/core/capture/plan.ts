import { join } from "node:path";
import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import { findImage, type Image, KNOWN_ARCHES } from "../defs/image";
import { DataError, UsageError } from "../errors";
import { imageFacts } from "../image/method-facts";
import { rootImgDir } from "../image/paths";
import { validateImageName, validatePathComponent } from "../names";
import { captureTypeFacts, captureTypeOf, createdBy, methodsFilledBy } from "./method-facts";

/**
 * Which image a capture writes and where, decided before and after the probe. -t diskless
 * makes (or refreshes) a netboot image, named `<osvers>-<arch>-netboot-<profile>` unless -o
 * says otherwise; it may also refresh an existing statelite image's tree. -t sysclone needs
 * -o (xCAT's rule) and makes a sysclone image. An existing image must be of a matching
 * provmethod, OS and architecture, as xCAT's imgcapture checks. Which methods a type fills
 * and creates are the methods' facts (MethodFacts.capture, core/capture/method-facts.ts).
 */
/** xCAT imgcapture's -t values: kinds of capture (one of them spelt like the provmethod it creates). */
export const CAPTURE_TYPES = ["diskless", "sysclone"] as const;
export type CaptureType = (typeof CAPTURE_TYPES)[number];

/** Checks that need neither the node nor the probe: fail before connecting. */
export function precheck(db: Db, type: CaptureType, image: string | undefined, profile: string | undefined): Image | null {
  if (captureTypeFacts(type).needsName && !image)
    throw new UsageError(`You must specify osimage name if you are using "${type}".`, { hint: "add -o <osimage>" });
  if (profile) validatePathComponent("profile", profile);
  if (!image) return null;
  validateImageName(image);
  const existing = findImage(db, image);
  if (existing) checkExisting(existing, type, profile);
  return existing;
}

function checkExisting(img: Image, type: CaptureType, profile: string | undefined): void {
  const pm = img.attrs.provmethod;
  const fills = methodsFilledBy(type);
  if (pm && !fills.some((m) => m === pm)) {
    throw new UsageError(`image '${img.name}' has provmethod '${pm}'; capture -t ${type} writes ${fills.join(" or ")} images`, {
      // the type that fills the image's method; diskless for a method no capture fills (install)
      hint: `capture into another image with -o, or use -t ${captureTypeOf(pm) ?? "diskless"}`,
    });
  }
  if (profile && img.attrs.profile && img.attrs.profile !== profile) {
    throw new UsageError(`image '${img.name}' has profile '${img.attrs.profile}', not '${profile}'`, {
      hint: "-p only names the profile of a new image; leave it out",
    });
  }
}

export interface CapturePlan {
  name: string;
  created: boolean;
  provmethod: string;
  osvers: string;
  osarch: string;
  profile: string;
  rootimgdir: string;
  /** The directory the node's files go to. */
  tree: string;
}

/** The image, its paths and attributes once the node's OS and architecture are known. */
export function planImage(
  db: Db,
  config: Config,
  req: { type: CaptureType; image?: string; profile?: string; existing: Image | null },
  node: { osvers: string | null; arch: string; where: string },
): CapturePlan {
  if (!KNOWN_ARCHES.includes(node.arch)) {
    throw new DataError(`${node.where} runs on '${node.arch}', an architecture xcimg does not handle`, { hint: `supported: ${KNOWN_ARCHES.join(", ")}` });
  }
  const osvers = node.osvers ?? req.existing?.attrs.osvers;
  if (!osvers) {
    throw new DataError(`cannot tell which OS ${node.where} runs: it has no /etc/os-release`, {
      hint: "define the image first ('xcimg image set <name> osvers=... osarch=... profile=... provmethod=...'), then capture with -o <name>",
    });
  }
  try {
    validatePathComponent("osvers", osvers);
  } catch {
    throw new DataError(`the OS of ${node.where} gives the unusable osvers '${osvers}'`, {
      hint: "define the image with osvers=... first and capture with -o",
    });
  }
  const profile = req.profile ?? req.existing?.attrs.profile ?? "compute";
  const name = req.image ?? `${osvers}-${node.arch}-netboot-${profile}`;
  const existing = req.existing ?? findImage(db, name);
  if (existing && !req.existing) checkExisting(existing, req.type, req.profile);
  if (existing) {
    const want = { osvers: existing.attrs.osvers, osarch: existing.attrs.osarch };
    if ((want.osvers && want.osvers !== osvers) || (want.osarch && want.osarch !== node.arch)) {
      throw new DataError(`The 'osvers' or 'osarch' attribute of the "${name}" table doesn't match the node's attribute`, {
        hint: `the image is ${want.osvers ?? "?"}/${want.osarch ?? "?"}, ${node.where} runs ${osvers}/${node.arch}: capture into a new image with -o`,
      });
    }
  }
  const provmethod = existing?.attrs.provmethod ?? createdBy(req.type);
  const img: Image = { name, attrs: { ...existing?.attrs, provmethod, osvers, osarch: node.arch, profile } };
  const rootimgdir = rootImgDir(config, img);
  return {
    name,
    created: existing === null,
    provmethod,
    osvers,
    osarch: node.arch,
    profile,
    rootimgdir,
    tree: imageFacts(provmethod).tree === "." ? rootimgdir : join(rootimgdir, "rootimg"),
  };
}
