import type { Context } from "../core/context";
import type { Image } from "../core/defs/image";
import type { ProvMethodName } from "../core/provmethod/names";

export type { ProvMethodName };

/**
 * The lifecycle operations. A provmethod supports an operation by defining it; the registry
 * turns a missing one into a usage error naming the methods that do support it. Export and
 * import are not among them: every method has them, and core/bundle runs them through the
 * method's bundle facts (src/core/bundle/method.ts).
 */
export const OPERATIONS = ["capture", "pack", "lite", "boot", "clone"] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Per-operation request/response shapes grow as the lifecycle issues land. */
export interface OperationFns {
  capture: (ctx: Context, req: { node: string; image: string; [k: string]: unknown }) => Promise<unknown>;
  pack: (ctx: Context, img: Image, req: Record<string, unknown>) => Promise<unknown>;
  lite: (ctx: Context, img: Image, req: Record<string, unknown>) => Promise<unknown>;
  boot: (ctx: Context, img: Image, req: { nodes: string[]; [k: string]: unknown }) => Promise<unknown>;
  clone: (ctx: Context, img: Image, req: { nodes: string[]; [k: string]: unknown }) => Promise<unknown>;
}

export type ProvMethod = {
  name: ProvMethodName;
  /** One line for `--help` and error hints. */
  description: string;
} & Partial<OperationFns>;

export function defineProvMethod<const T extends ProvMethod>(m: T): T {
  return m;
}
