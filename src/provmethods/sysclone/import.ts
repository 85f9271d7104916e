import { posix } from "node:path";
import { checkDestination } from "../../core/bundle/destinations";
import type { ImageImportRequest } from "../../core/bundle/import";
import type { Context } from "../../core/context";
import { rootImgDir } from "../../core/image/paths";

/** sysclone: the image tree <img>/imagetree/ moves to the image directory in one rename. */
export async function syscloneImport(ctx: Context, { plan, image }: ImageImportRequest): Promise<void> {
  const m = image.manifest;
  const tree = plan.bundle.members.get(`${image.dir}/imagetree`);
  if (!m.top.imagetree || !tree || tree.entry.type !== "dir") {
    image.errors.push("The 'imagetree' field is not defined in manifest.xml, or the bundle has no imagetree/ directory.");
    return;
  }
  const to = m.linuximage.rootimgdir ?? rootImgDir(ctx.config, { name: image.name, attrs: { provmethod: "sysclone" } });
  if (m.top.imagetree !== to) m.top.imagetree = to;
  checkDestination(posix.join(to, "x"), plan.rules, "the sysclone image tree");
  image.placements.push({ from: tree.name, to, what: "imagetree", tree: true });
}
