import { leaf, output } from "../../cli/command";
import { getImage } from "../../core/defs/image";
import { signImage } from "../../core/provenance/image-verify";

export default leaf({
  name: "image sign",
  description: "sign an image's manifest with an SSH key (ssh-keygen -Y sign format, namespace xcimg-image); refreshes a stale manifest first",
  args: {
    osimage: { type: "positional", description: "image name" },
    key: { type: "string", description: "private key file, or a .pub whose key is in ssh-agent (default: the agent's first key, else ssh.identity)" },
  },
  examples: [
    "xcimg image sign rocky9-x86_64-netboot-compute --key ~/.ssh/id_ed25519",
    "xcimg image sign rocky9-x86_64-netboot-compute          # with SSH_AUTH_SOCK: the agent's first ed25519/RSA key",
    "ssh-keygen -Y verify -f /etc/xcimg/allowed_signers -I admin@site -n xcimg-image -s xcimg-manifest.json.sig < xcimg-manifest.json",
  ],
  async run(ctx, args) {
    const r = await signImage(ctx, getImage(ctx.db(), args.osimage), args.key);
    return output(r, `Signed ${r.manifest} with ${r.key}: ${r.signature}`);
  },
});
