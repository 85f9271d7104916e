import { leaf, output } from "../../cli/command";
import { listImages } from "../../core/defs/image";

export default leaf({
  name: "image list",
  description: "list image names, sorted",
  args: {},
  examples: ["xcimg image list", "xcimg image list --json"],
  run(ctx) {
    const names = listImages(ctx.db());
    return output(names, names);
  },
});
