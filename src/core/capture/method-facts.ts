import { allMethodFacts, findMethodFacts, methodWhere } from "../provmethod/facts";
import type { ProvMethodName } from "../provmethod/names";
import type { CaptureType } from "./plan";

/**
 * MethodFacts.capture: which capture type (xCAT imgcapture -t) fills a method's images, and
 * what that type asks of a capture. Declared by each method in src/provmethods/<m>/facts.ts.
 */
export interface CaptureFacts {
  readonly type: CaptureType;
  /** A capture of this type into a new image makes one of this method (one method per type). */
  readonly creates?: true;
  /** The admin names the image: xCAT refuses this type without -o. */
  readonly needsName?: true;
  /** The probe records the golden node's disks (a clone re-creates them), unless --rootdir. */
  readonly probesDisks?: true;
  /**
   * What the management node made inside such an image's tree that exists nowhere else (path
   * relative to the tree, and what it is in words): a capture refuses to replace a tree that
   * holds one without --force, and keeps the previous tree as `<tree>.prev` (replace-guard.ts).
   */
  readonly replaceLoses?: readonly { readonly path: string; readonly what: string }[];
}

/** The methods whose images a capture of `type` may refresh. */
export function methodsFilledBy(type: CaptureType): ProvMethodName[] {
  return allMethodFacts()
    .filter((f) => f.capture?.type === type)
    .map((f) => f.name);
}

/** The method a capture of `type` creates, and whose capture operation runs it. */
export function createdBy(type: string): ProvMethodName {
  return methodWhere(`capture -t ${type} creates`, (f) => f.capture?.type === type && f.capture.creates === true);
}

/** What a capture of `type` asks (the facts of the method it creates). */
export function captureTypeFacts(type: CaptureType): CaptureFacts {
  const f = findMethodFacts(createdBy(type))?.capture;
  if (!f) throw new Error(`internal: no facts for capture -t ${type}`);
  return f;
}

/** The capture type that fills images of `provmethod`, if any. */
export function captureTypeOf(provmethod: string): CaptureType | undefined {
  return findMethodFacts(provmethod)?.capture?.type;
}
