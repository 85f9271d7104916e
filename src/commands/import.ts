import { leaf, output } from "../cli/command";
import { importBundle } from "../core/bundle/import";
import { recordImports } from "../core/provenance/import-record";

export default leaf({
  name: "import",
  description: "define an image from a bundle (xCAT imgimport), verified and safe against hostile bundles",
  args: {
    bundle: { type: "positional", description: "the bundle (.tgz with manifest.xml, or manifest.cfg)" },
    postscripts: { type: "string", alias: "p", description: "set the bundle's postscripts on these existing nodes (noderange)" },
    profile: { type: "string", alias: "f", description: "import under a new profile name (xCAT -f): <osvers>-<osarch>-<provmethod>-<profile>" },
    force: { type: "boolean", description: "replace an existing image or files of the same name, keeping .ORIG backups" },
    allowDest: { type: "string", multiple: true, description: "also allow files to land under this directory (outside installdir)" },
  },
  examples: [
    "xcimg import rocky9-x86_64-netboot-compute.tgz",
    "xcimg import rocky9.tgz -f compute2 -p rack3",
    "xcimg import site-image.tgz --allow-dest /srv/site-files --force",
  ],
  async run(ctx, args) {
    const { plan, result } = await importBundle(ctx, {
      bundle: args.bundle,
      postscripts: args.postscripts,
      profile: args.profile,
      force: args.force,
      allowDest: args.allowDest,
    });
    recordImports(ctx, plan);
    return output(
      result,
      result.images.map((i) => `Successfully imported the image ${i.image}.`),
    );
  },
});
