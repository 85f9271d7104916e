import { DataError, NotImplementedError, UsageError, type XcimgError } from "../core/errors";
import { isProvMethodName, PROVMETHOD_NAMES, type ProvMethodName } from "../core/provmethod/names";
import type { Operation, OperationFns, ProvMethod } from "./types";

type Loader = () => Promise<{ default: ProvMethod }>;

/** The registry is this literal map: folder name = key = osimage.provmethod value. */
const LOADERS = {
  install: () => import("./install/index"),
  netboot: () => import("./netboot/index"),
  statelite: () => import("./statelite/index"),
  sysclone: () => import("./sysclone/index"),
} satisfies Record<ProvMethodName, Loader>;

export async function loadProvMethod(name: string): Promise<ProvMethod> {
  if (!isProvMethodName(name) || !Object.hasOwn(LOADERS, name)) {
    throw new DataError(`unknown provisioning method '${name}'`, { hint: `xcimg supports: ${PROVMETHOD_NAMES.join(", ")}` });
  }
  return (await LOADERS[name]()).default;
}

export async function methodsSupporting(op: Operation): Promise<ProvMethodName[]> {
  const out: ProvMethodName[] = [];
  for (const name of PROVMETHOD_NAMES) if ((await loadProvMethod(name))[op]) out.push(name);
  return out;
}

/**
 * The function implementing `op` for provmethod `name`. Asking for an operation the method
 * lacks is a usage error that names the methods which have it.
 */
export async function operation<O extends Operation>(name: string, op: O, subject: string): Promise<OperationFns[O]> {
  const method = await loadProvMethod(name);
  const ops: Partial<OperationFns> = method;
  const fn = ops[op];
  if (fn) return fn;
  const others = await methodsSupporting(op);
  if (others.length === 0) throw new NotImplementedError(`'${op}' is not implemented yet in this release of xcimg`);
  throw new UsageError(`${subject} has provmethod '${name}', which does not support '${op}'`, {
    hint: `'${op}' works on images with provmethod ${others.join(" or ")}`,
  });
}

/**
 * When `op` belongs to a method that refuses other methods' images in its own words (xCAT
 * liteimg's message; ProvMethod.refuseOthers), that refusal for an image whose provmethod
 * (possibly unset) lacks `op`; else null, and `operation` decides.
 */
export async function ownRefusal(op: Operation, provmethod: string | undefined, image: string): Promise<XcimgError | null> {
  if (provmethod && isProvMethodName(provmethod) && (await loadProvMethod(provmethod))[op]) return null;
  for (const name of PROVMETHOD_NAMES) {
    const refuse = (await loadProvMethod(name)).refuseOthers?.[op];
    if (refuse) return refuse(image);
  }
  return null;
}
