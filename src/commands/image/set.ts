import { leaf, output } from "../../cli/command";
import { IMAGE_TYPE, setImage } from "../../core/defs/image";
import { parseAssignments } from "../../core/defs/object";

export default leaf({
  name: "image set",
  description: "create an image or change its attributes (xCAT mkdef/chdef -t osimage); attr= clears one",
  args: {
    osimage: { type: "positional", description: "image name" },
    assignments: { type: "positional", variadic: true, required: true, description: "attr=value (osimage and linuximage columns)", valueHint: "attr=value" },
  },
  examples: [
    "xcimg image set rocky9-x86_64-netboot-compute provmethod=netboot osvers=rhels9.4 osarch=x86_64 profile=compute",
    "xcimg image set rocky9-x86_64-netboot-compute exlist=/install/custom/netboot/rh/compute.exlist",
    "xcimg image set rocky9-x86_64-netboot-compute addkcmdline=",
  ],
  run(ctx, args) {
    const attrs = parseAssignments(IMAGE_TYPE, args.assignments);
    const { created } = setImage(ctx.db(), args.osimage, attrs);
    ctx.log.info(`${created ? "Created" : "Changed"} image ${args.osimage}.`);
    return output({ image: args.osimage, created, attrs }, "");
  },
});
