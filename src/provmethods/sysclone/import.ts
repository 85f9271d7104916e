import type { ImageToImport, MethodImport } from "../../core/bundle/method";
import type { DiskLayout } from "../../core/capture/probe";
import { DataError } from "../../core/errors";
import { normalizeLayout } from "./layout";

/**
 * sysclone: the image tree <img>/imagetree/ moves to the image directory in one rename. The
 * capture record the bundle carries (its disk layout: what clone recreates on each node) is
 * kept for the image once its layout reads as capture's would; a bundle without one (made
 * before xcimg carried it) imports, and clone then says the layout is missing.
 */
export function plan(_ctx: unknown, image: ImageToImport): MethodImport {
  const tree = image.member("imagetree");
  if (!image.manifest.top.imagetree || tree?.entry.type !== "dir") {
    return { errors: ["The 'imagetree' field is not defined in manifest.xml, or the bundle has no imagetree/ directory."] };
  }
  const capture = image.capture();
  if (capture?.disk_layout) {
    try {
      normalizeLayout(JSON.parse(capture.disk_layout as string) as DiskLayout, image.name);
    } catch (e) {
      throw new DataError(`the bundle's disk layout of ${image.name} cannot be cloned: ${(e as Error).message}`, {
        hint: "the bundle was made from a damaged capture record, or modified; nothing was imported",
      });
    }
  }
  return { errors: [], trees: [{ from: tree.name, to: image.imageDir, what: "the sysclone image tree" }], ...(capture ? { capture } : {}) };
}
