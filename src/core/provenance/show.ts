import type { Context } from "../context";
import type { Image } from "../defs/image";
import { computeManifest, editedEntries, type ImageManifest, manifestPath, type Origin, readStoredManifest, settlePending } from "./manifest";

/**
 * `xcimg image show <img> --manifest`: the stored manifest, or one computed now (nothing is
 * written), except a manifest a capture left due (pending.ts), which is stored once computed.
 */
export interface ManifestView {
  image: string;
  path: string;
  stored: boolean;
  signed: boolean;
  manifest: ImageManifest;
  /** Why a computed manifest was not stored (the tree changed after its capture). */
  note?: string;
}

export function viewManifest(ctx: Context, img: Image): ManifestView {
  // a manifest a capture left due is computed now and stored, unless the tree changed since
  const settled = settlePending(ctx, img, { cache: true, write: true });
  if (settled && !settled.stored) {
    return {
      image: img.name,
      path: manifestPath(ctx.config, img),
      stored: false,
      signed: false,
      manifest: settled.manifest,
      note: settled.editedAfter
        ? `${editedEntries(settled.editedAfter)} of the tree changed on this management node after the capture of ${settled.since}; not stored: 'xcimg image verify' refuses it, 'xcimg image sign' records it`
        : undefined,
    };
  }
  const stored = readStoredManifest(ctx.config, img);
  if (stored) return { image: img.name, path: stored.path, stored: true, signed: stored.signature !== null, manifest: stored.manifest };
  return { image: img.name, path: manifestPath(ctx.config, img), stored: false, signed: false, manifest: computeManifest(ctx.config, img, { how: "unknown" }) };
}

export function describeOrigin(o: Origin): string {
  switch (o.how) {
    case "capture":
      return `captured from ${o.node}${o.address && o.address !== o.node ? ` (${o.address})` : ""}${o.rootdir ? ` ${o.rootdir}` : ""}, ${o.type ?? "?"} ${o.level ?? ""}, at ${o.at}`.replace(
        / +,/,
        ",",
      );
    case "import":
      return `imported from ${o.bundle} at ${o.at}, ${o.signer ? `signed by ${o.signer} (${o.key})` : o.key ? `signed by unknown key ${o.key}` : "unsigned"}${o.upstream ? `; before that: ${describeOrigin(o.upstream)}` : ""}`;
    default:
      return "unknown (made outside xcimg's capture and import)";
  }
}

export function manifestLines(v: ManifestView): string[] {
  const m = v.manifest;
  const id = m.identity;
  const lines = [
    `Image manifest of ${v.image}: ${v.path}${v.stored ? "" : " (not stored yet; computed now)"}`,
    ...(v.note ? [`  note:       ${v.note}`] : []),
    `  identity:   ${id.name}: ${id.provmethod} ${id.osvers} ${id.osarch} profile ${id.profile}`,
    `  made:       ${m.made}`,
    `  origin:     ${describeOrigin(m.origin)}`,
    `  signature:  ${v.signed ? `${v.path}.sig (check it with 'xcimg image verify ${v.image}')` : "none"}`,
    m.tree
      ? `  tree:       ${m.tree.path}  sha256:${m.tree.sha256}  ${m.tree.entries} entries, ${m.tree.bytes} bytes in files`
      : "  tree:       not on this management node",
    "  artifacts:",
  ];
  const names = Object.keys(m.artifacts);
  if (!names.length) lines.push("    (none)");
  const w = Math.max(0, ...names.map((n) => n.length));
  for (const n of names) lines.push(`    ${n.padEnd(w)}  sha256:${m.artifacts[n]?.sha256}  ${m.artifacts[n]?.size} bytes`);
  const p = m.packages;
  lines.push(p.packages ? `  packages:   ${p.packages.length} (${p.source}; --json lists them)` : `  packages:   unknown: ${p.reason ?? ""}`);
  return lines;
}
