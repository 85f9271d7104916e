import type { BundleFacts } from "../bundle/method";
import type { CaptureFacts } from "../capture/method-facts";
import { DataError } from "../errors";
import type { ImageFacts } from "../image/method-facts";
import { PROVMETHOD_NAMES, type ProvMethodName } from "./names";

/**
 * What core asks a provisioning method instead of branching on its name. Each folder
 * src/provmethods/<method>/ declares its facts in facts.ts; src/provmethods/register.ts hands
 * them to core once at start-up (the CLI's entry and bunfig's test preload import it), the way
 * a database/sql driver registers itself — so core never imports a provmethod, and adding a
 * method touches its own folder and the registry only (docs/architecture.md).
 *
 * Sections are grouped by the core layer that reads them; each is documented where declared.
 */
export interface MethodFacts {
  readonly name: ProvMethodName;
  /** One line for `--help` and error hints. */
  readonly description: string;
  /** What its bundles hold and how they are imported (src/core/bundle/method.ts). */
  readonly bundle: BundleFacts;

  // image, capture, genimage, media: what core/image, core/provenance, core/synclist,
  // core/capture, core/genimage and core/media ask (types in the layer that reads them)
  readonly image: ImageFacts;
  /** Absent: no capture fills this method's images. */
  readonly capture?: CaptureFacts;
  /** genimage builds trees for images of this method, and defines new images with it (xCAT genimage). */
  readonly genimage?: { readonly creates: true };
  /**
   * `xcimg image media` (xCAT copycds): `creates` — the image it defines over the media is of
   * this method (install); `sample` — it also defines a sample `<os>-<arch>-<method>-<profile>`
   * image of this method with the media as pkgdir, for genimage to build (netboot, statelite).
   */
  readonly media?: { readonly creates?: true; readonly sample?: true };
}

const registered = new Map<ProvMethodName, MethodFacts>();

/** Called by src/provmethods/register.ts; a second registration of a name replaces the first. */
export function registerMethodFacts(all: readonly MethodFacts[]): void {
  for (const f of all) registered.set(f.name, f);
}

/** Every registered method, in PROVMETHOD_NAMES order (contract tests and hints loop over it). */
export function allMethodFacts(): MethodFacts[] {
  return PROVMETHOD_NAMES.flatMap((n) => registered.get(n) ?? []);
}

/**
 * The facts of `name` (an osimage.provmethod value). An unknown or empty value is the site's
 * data problem, reported with the methods xcimg has.
 */
export function methodFacts(name: string | undefined, subject = "this image"): MethodFacts {
  if (registered.size === 0) throw new Error("internal: provmethod facts used before src/provmethods/register.ts ran");
  const f = name ? registered.get(name as ProvMethodName) : undefined;
  if (f) return f;
  throw new DataError(name ? `${subject} has unknown provisioning method '${name}'` : `${subject} has no provmethod`, {
    hint: `set osimage.provmethod to one of: ${PROVMETHOD_NAMES.join(", ")}`,
  });
}

/** The facts of `name`, or undefined when it is unset or names no method (callers pick their own default). */
export function findMethodFacts(name: string | undefined): MethodFacts | undefined {
  if (registered.size === 0) throw new Error("internal: provmethod facts used before src/provmethods/register.ts ran");
  return name ? registered.get(name as ProvMethodName) : undefined;
}

/** The one method `pick` selects (the method genimage, or a capture type, creates). */
export function methodWhere(what: string, pick: (f: MethodFacts) => boolean): ProvMethodName {
  const found = allMethodFacts().filter(pick);
  const [one] = found;
  if (!one || found.length > 1) throw new Error(`internal: ${found.length} provmethods declare ${what}, not one`);
  return one.name;
}
