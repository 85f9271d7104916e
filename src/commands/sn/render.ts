import { imageOperation } from "../../cli/shared";
import type { NodeBooted } from "../../core/boot/boot";
import { localBootNodes } from "../../core/boot/local-boot";
import { writeNodeAcl } from "../../core/boot/node-acl";
import type { Context } from "../../core/context";
import { getImage } from "../../core/defs/image";
import { readNodes } from "../../core/defs/node";
import { XcimgError } from "../../core/errors";
import { loadProvMethod } from "../../provmethods/registry";
import type { CloneResult } from "../../provmethods/sysclone/prepare";

type Rendered = { booted: NodeBooted[]; failed: Record<string, string>; skipped: Record<string, string> };

/**
 * The SN's boot files: the same per-image boot operation `xcimg boot` runs (commands/boot.ts),
 * with this SN's config — its tftpdir, installdir, `master` and http.port — so every file
 * points the nodes at the SN: a node whose noderes.xcatmaster names the SN gets it by name, one
 * without (pools, xCAT's DHCP-answering SN) gets iPXE's ${next-server} or `master`.
 * An image whose method has no boot but clone (sysclone): see renderClones.
 */
export async function renderServed(ctx: Context, images: Map<string, string[]>): Promise<Rendered> {
  const out: Rendered = { booted: [], failed: {}, skipped: {} };
  for (const [name, nodes] of images) {
    try {
      const pm = getImage(ctx.db(), name).attrs.provmethod;
      const method = pm ? await loadProvMethod(pm) : null;
      if (method && !method.boot && method.clone) {
        await renderClones(ctx, name, nodes, out);
        continue;
      }
      const { image, fn } = await imageOperation(ctx, name, "boot");
      const r = await fn(ctx, image, { nodes });
      out.booted.push(...r.booted);
      Object.assign(out.failed, r.failed);
    } catch (e) {
      if (!(e instanceof XcimgError)) throw e;
      for (const n of nodes) out.failed[n] = e.message;
    }
  }
  writeNodeAcl(ctx.config, out.booted, ctx.log);
  return out;
}

/**
 * Clone nodes, as the MN's `xcimg clone` left them in the snapshot: a node still to be cloned
 * (chain.currstate `sysclone …`, provmethod this image) gets its clone boot files from the
 * SN's synced copy of the clone files, with the job its bootparams carry (prepare.ts jobOf), so
 * a clone under way is not restarted; a node that has finished (`boot`) gets local boot, or it
 * would clone itself again from the SN. Other nodes were never prepared for cloning by the MN:
 * skipped, as the SN must not decide to wipe a disk.
 */
async function renderClones(ctx: Context, name: string, nodes: string[], out: Rendered): Promise<void> {
  const attrs = readNodes(ctx.db(), nodes);
  const cloning: string[] = [];
  const finished: string[] = [];
  for (const n of nodes) {
    const a = attrs.get(n);
    if (a?.provmethod !== name) out.skipped[n] = `not rendered: nodetype.provmethod is not ${name} (run 'xcimg clone ${n} -o ${name}' on the management node)`;
    else if (a.currstate?.startsWith("sysclone ")) cloning.push(n);
    else if (a.currstate === "boot") finished.push(n);
    else out.skipped[n] = `not rendered: chain.currstate '${a.currstate ?? ""}' is not a clone the management node prepared`;
  }
  if (cloning.length) {
    const { image, fn } = await imageOperation(ctx, name, "clone");
    const r = (await fn(ctx, image, { nodes: cloning, fromSync: true })) as CloneResult;
    out.booted.push(...r.booted);
    Object.assign(out.failed, r.failed);
  }
  if (finished.length) {
    const r = localBootNodes(ctx, finished);
    out.booted.push(...r.booted);
    Object.assign(out.failed, r.failed);
  }
}
