import { join } from "node:path";
import { leaf, output } from "../../cli/command";
import { getImage } from "../../core/defs/image";
import { rootImgDir } from "../../core/image/paths";
import { kernelsIn, pickKernel } from "../../core/pack/kernel";

export default leaf({
  name: "image kernels",
  description: "list the kernels in an image's tree and the one pack and boot use",
  args: { osimage: { type: "positional", description: "image name" } },
  examples: ["xcimg image kernels debian12-x86_64-netboot-compute", "xcimg image set debian12-x86_64-netboot-compute kernelver=6.1.0-50-amd64"],
  run(ctx, args) {
    const img = getImage(ctx.db(), args.osimage);
    const tree = join(rootImgDir(ctx.config, img), "rootimg");
    const all = kernelsIn(tree);
    const chosen = pickKernel(tree, img.attrs.kernelver);
    const rows = all.map((k) => ({ version: k.version, path: k.path.slice(tree.length), chosen: k.version === chosen?.version }));
    const text = rows.length ? rows.map((r) => `${r.chosen ? "*" : " "} ${r.version}\t${r.path}`) : [`no kernel in ${tree}`];
    return output({ image: img.name, tree, kernels: rows, chosen: chosen?.version ?? null }, text);
  },
});
