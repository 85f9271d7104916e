import { leaf, output } from "../../cli/command";
import { getImage } from "../../core/defs/image";
import { verifyImage } from "../../core/provenance/image-verify";

export default leaf({
  name: "image verify",
  description: "check an image on disk against its manifest, and the manifest's signature against [trust] allowed_signers",
  args: { osimage: { type: "positional", description: "image name" } },
  examples: ["xcimg image verify rocky9-x86_64-netboot-compute", "xcimg --json image verify rocky9-x86_64-netboot-compute"],
  run(ctx, args) {
    const r = verifyImage(ctx, getImage(ctx.db(), args.osimage));
    return output(r, [
      `Image ${r.image} matches its manifest ${r.manifest}; ${r.signed ? `signed by ${r.signer}` : "not signed"}.`,
      ...r.checked.map((c) => `  ok: ${c}`),
      ...r.notes.map((n) => `  note: ${n}`),
    ]);
  },
});
