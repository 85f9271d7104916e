import { imageOperation } from "../../cli/shared";
import type { NodeBooted } from "../../core/boot/boot";
import { writeNodeAcl } from "../../core/boot/node-acl";
import type { Context } from "../../core/context";
import { XcimgError } from "../../core/errors";

/**
 * The SN's boot files: the same per-image boot operation `xcimg boot` runs (commands/boot.ts),
 * with this SN's config — its tftpdir, installdir, `master` and http.port — so every file
 * points the nodes at the SN: a node whose noderes.xcatmaster names the SN gets it by name, one
 * without (pools, xCAT's DHCP-answering SN) gets iPXE's ${next-server} or `master`.
 */
export async function renderServed(ctx: Context, images: Map<string, string[]>): Promise<{ booted: NodeBooted[]; failed: Record<string, string> }> {
  const booted: NodeBooted[] = [];
  const failed: Record<string, string> = {};
  for (const [name, nodes] of images) {
    try {
      const { image, fn } = await imageOperation(ctx, name, "boot");
      const r = await fn(ctx, image, { nodes });
      booted.push(...r.booted);
      Object.assign(failed, r.failed);
    } catch (e) {
      if (!(e instanceof XcimgError)) throw e;
      for (const n of nodes) failed[n] = e.message;
    }
  }
  writeNodeAcl(ctx.config, booted, ctx.log);
  return { booted, failed };
}
