import { leaf, output } from "../../cli/command";
import { listImages } from "../../core/defs/image";

export default leaf({
  name: "image list",
  description: "list image names, sorted",
  args: { typed: { type: "boolean", description: "print 'name  (osimage)' lines, as lsdef -t osimage lists them" } },
  readOnly: true,
  examples: ["xcimg image list", "xcimg image list --json"],
  run(ctx, args) {
    const names = listImages(ctx.db());
    return output(names, args.typed ? names.map((n) => `${n}  (osimage)`) : names);
  },
});
