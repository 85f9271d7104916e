import type { ImageToImport, MethodImport } from "../../core/bundle/method";

/** sysclone: the image tree <img>/imagetree/ moves to the image directory in one rename. */
export function plan(_ctx: unknown, image: ImageToImport): MethodImport {
  const tree = image.member("imagetree");
  if (!image.manifest.top.imagetree || tree?.entry.type !== "dir") {
    return { errors: ["The 'imagetree' field is not defined in manifest.xml, or the bundle has no imagetree/ directory."] };
  }
  return { errors: [], trees: [{ from: tree.name, to: image.imageDir, what: "the sysclone image tree" }] };
}
