import { republishIfPublished } from "../../core/boot/publish";
import type { Context } from "../../core/context";
import { getRow } from "../../core/db/rows";
import type { Image } from "../../core/defs/image";
import { DataError, NotFoundError, XcimgError } from "../../core/errors";
import { parsePackOptions } from "../../core/pack/options";
import { packRootImage } from "../../core/pack/pack";
import type { PackOpResult, PackRequest } from "../types";

/** xCAT packimage for a stateless image, with its checks and messages (xcat.md §3.1). */
export async function pack(ctx: Context, img: Image, req: PackRequest): Promise<PackOpResult> {
  const opts = { ...parsePackOptions(req.method, req.compress), syncfiles: !req.nosyncfiles };
  if (!getRow(ctx.db(), "linuximage", { imagename: img.name })) throw new NotFoundError(`Cannot find ${img.name} from the linuximage table.`);
  const a = img.attrs;
  if (!a.osvers || !a.osarch || !a.profile || !a.provmethod) {
    throw new DataError(`osimage.osvers, osimage.osarch, osimage.profile and osimage.provmethod must be specified for the image ${img.name} in the database.`, {
      hint: `set them with 'xcimg image set ${img.name} osvers=... osarch=... profile=...'`,
    });
  }
  const r = await packRootImage(ctx, img, opts);
  try {
    const done = republishIfPublished(ctx.config, img);
    if (done === "refreshed") ctx.log.info(`Refreshed the boot files of ${img.name} in ${ctx.config.tftpdir}/xcat/osimage/${img.name}`);
    if (done === "generations")
      ctx.log.info(`${img.name}'s nodes boot their published generation (boot.generations): run 'xcimg boot' on them to move them to this pack`);
  } catch (e) {
    // the pack itself succeeded; nodes keep booting what was published before
    if (!(e instanceof XcimgError)) throw e;
    ctx.log.warn(`the boot files published for ${img.name} were left as they were: ${e.message}`);
  }
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const ratio = r.archiveBytes ? `, ${(r.archiveBytes / r.packedBytes).toFixed(2)}:1` : "";
  const summary = `${r.archive}: ${mib(r.packedBytes)} (${r.entries} entries${ratio}) in ${r.seconds.toFixed(1)} s${r.kernelVersion ? `; kernel ${r.kernelVersion}` : ""}`;
  return { ...r, summary };
}
