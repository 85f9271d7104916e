import { leaf, output } from "../cli/command";
import { checkExportable, errorList } from "../core/bundle/export";
import { getImage } from "../core/defs/image";
import { UsageError } from "../core/errors";
import { operation } from "../provmethods/registry";

export default leaf({
  name: "export",
  description: "write one image as a portable bundle (xCAT imgexport: manifest.xml tgz)",
  args: {
    osimage: { type: "positional", description: "the image to export" },
    bundle: { type: "positional", required: false, description: "bundle file or directory (default: ./<osimage>.tgz); unlike xCAT the path is honoured" },
    postscripts: { type: "string", alias: "p", description: "carry this node's postscripts (and xcatdefaults') in the manifest" },
    extra: { type: "string", alias: "e", multiple: true, description: "extra file or directory, as src[:dest]; lands in dest on import" },
    sign: { type: "boolean", description: "sign the bundle: its manifest and an SSH signature (namespace xcimg-image) go into it (docs/provenance.md)" },
    key: {
      type: "string",
      description: "signing key: a private key file, or a .pub whose key is in ssh-agent (default: the agent's first key, else ssh.identity)",
    },
  },
  examples: [
    "xcimg export rocky9-x86_64-netboot-compute",
    "xcimg export rocky9-x86_64-netboot-compute /backup/rocky9.tgz -p cn001 -e /install/postscripts/myscript",
    "xcimg export rocky9-x86_64-statelite-compute /backup/ -e /srv/site-files:/install/site-files",
    "xcimg export rocky9-x86_64-netboot-compute --sign --key ~/.ssh/id_ed25519",
  ],
  async run(ctx, args) {
    const errors = checkExportable(ctx, args.osimage);
    if (errors.length) throw errorList(ctx, errors);
    if (args.key && !args.sign) throw new UsageError("--key is for --sign", { hint: "add --sign" });
    const image = getImage(ctx.db(), args.osimage);
    // checkExportable reported an unset provmethod already
    const fn = await operation(image.attrs.provmethod ?? "", "export", `image '${args.osimage}'`);
    const r = await fn(ctx, image, { bundle: args.bundle, postscripts: args.postscripts, extra: args.extra ?? [], sign: args.sign === true, key: args.key });
    return output(r, `Done! ${r.bundle} (${r.bytes} bytes)`);
  },
});
