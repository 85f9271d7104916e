import { leaf, output } from "../cli/command";
import { imageOperation } from "../cli/shared";

export default leaf({
  name: "export",
  description: "write one image as a portable bundle (xCAT imgexport: manifest.xml tgz)",
  args: {
    osimage: { type: "positional", description: "the image to export" },
    bundle: { type: "positional", required: false, description: "bundle file (default: ./<osimage>.tgz)" },
    postscripts: { type: "string", alias: "p", description: "carry this node's postscripts in the bundle" },
    extra: { type: "string", alias: "e", multiple: true, description: "extra file or directory, as src[:dest]" },
  },
  examples: ["xcimg export rocky9-x86_64-netboot-compute", "xcimg export rocky9-x86_64-netboot-compute /backup/rocky9.tgz -p cn001 -e /install/postscripts/myscript"],
  async run(ctx, args) {
    const { image, fn } = await imageOperation(ctx, args.osimage, "export");
    const result = await fn(ctx, image, { bundle: args.bundle, postscripts: args.postscripts, extra: args.extra });
    return output(result, String((result as { summary?: string })?.summary ?? ""));
  },
});
