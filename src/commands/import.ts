import { leaf } from "../cli/command";
import { NotImplementedError } from "../core/errors";

export default leaf({
  name: "import",
  description: "define an image from a bundle (xCAT imgimport), verified and safe against hostile bundles",
  args: {
    bundle: { type: "positional", description: "the bundle (.tgz with manifest.xml, or manifest.cfg)" },
    postscripts: { type: "string", alias: "p", description: "set the bundle's postscripts on these existing nodes (noderange)" },
    profile: { type: "string", alias: "f", description: "import under a new profile name (xCAT -f)" },
    force: { type: "boolean", description: "replace an existing image of the same name, keeping .ORIG backups" },
    allowDest: { type: "string", multiple: true, description: "also allow files to land under this directory" },
  },
  examples: ["xcimg import rocky9-x86_64-netboot-compute.tgz", "xcimg import rocky9.tgz -f compute2 -p rack3"],
  async run() {
    throw new NotImplementedError("'import' is not implemented yet in this release of xcimg");
  },
});
