import { leaf, output } from "../../cli/command";
import { getImage } from "../../core/defs/image";
import { previewAnswerFile } from "../../provmethods/install/plan";

export default leaf({
  name: "image render",
  description: "print an install image's kickstart/AutoYaST/preseed as one node would get it (nothing is written)",
  args: {
    osimage: { type: "positional", description: "an install image" },
    node: { type: "positional", description: "the node to render it for" },
  },
  examples: [
    "xcimg image render rhels9.4-x86_64-install-compute cn001",
    "xcimg image render debian12-x86_64-install-compute cn017 | debconf-set-selections --checkonly",
  ],
  run(ctx, args) {
    const text = previewAnswerFile(ctx, getImage(ctx.db(), args.osimage), args.node);
    return output({ image: args.osimage, node: args.node, text }, text);
  },
});
