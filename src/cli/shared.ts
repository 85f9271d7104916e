import type { Context } from "../core/context";
import { getImage, type Image } from "../core/defs/image";
import { NotFoundError } from "../core/errors";
import { operation, ownRefusal } from "../provmethods/registry";
import type { Operation, OperationFns } from "../provmethods/types";

/**
 * Look up an image and the function its provmethod provides for `op`: a method's own refusal
 * of other methods' images first (lite: xCAT's words, even for an unset provmethod), then the
 * registry's errors.
 */
export async function imageOperation<O extends Operation>(ctx: Context, name: string, op: O): Promise<{ image: Image; fn: OperationFns[O] }> {
  const image = getImage(ctx.db(), name);
  const provmethod = image.attrs.provmethod;
  const refused = await ownRefusal(op, provmethod, name);
  if (refused) throw refused;
  if (!provmethod) {
    throw new NotFoundError(`The 'provmethod' field is not set for '${name}' in the osimage table.`, {
      hint: `set it with 'xcimg image set ${name} provmethod=netboot' (or install, statelite, sysclone)`,
    });
  }
  return { image, fn: await operation(provmethod, op, `image '${name}'`) };
}
