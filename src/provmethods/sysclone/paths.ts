import { join } from "node:path";
import type { Config } from "../../core/config/schema";
import { validateImageName } from "../../core/names";

/**
 * Where clone keeps what nodes fetch, under installdir so the web server that serves
 * /install (docs/boot.md) serves it too:
 *   <installdir>/sysclone/clone/<image>/      kernel, clone environment, disk archive (artifacts.ts)
 *   <installdir>/sysclone/clone/.overrides/   each override tree packed as <name>.tar
 *   <installdir>/sysclone/overrides/<name>/   the override trees themselves (xCAT's and SystemImager's place)
 * Image names never start with a dot, so .overrides cannot collide with an image.
 */
export function cloneDir(config: Config, image: string): string {
  return join(config.installdir, "sysclone", "clone", validateImageName(image));
}

export function overridesDir(config: Config): string {
  return join(config.installdir, "sysclone", "overrides");
}

export function packedOverridesDir(config: Config): string {
  return join(config.installdir, "sysclone", "clone", ".overrides");
}
