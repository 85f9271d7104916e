import { leaf, output } from "../../cli/command";
import { UsageError } from "../../core/errors";
import { findImage, IMAGE_TYPE, setImage } from "../../core/defs/image";
import { editAttrs } from "../../core/defs/list-edit";
import { parseAssignments } from "../../core/defs/object";

export default leaf({
  name: "image set",
  description: "create an image or change its attributes (xCAT mkdef/chdef -t osimage); attr= clears one",
  args: {
    osimage: { type: "positional", description: "image name" },
    assignments: { type: "positional", variadic: true, required: true, description: "attr=value (osimage and linuximage columns)", valueHint: "attr=value" },
    plus: { type: "boolean", alias: "p", description: "add the values to the comma-separated lists already stored (chdef -p)" },
    minus: { type: "boolean", alias: "m", description: "remove the values from the lists already stored (chdef -m)" },
  },
  examples: [
    "xcimg image set rocky9-x86_64-netboot-compute provmethod=netboot osvers=rhels9.4 osarch=x86_64 profile=compute",
    "xcimg image set rocky9-x86_64-netboot-compute exlist=/install/custom/netboot/rh/compute.exlist",
    "xcimg image set rocky9-x86_64-netboot-compute addkcmdline=",
    "xcimg image set -p rocky9-x86_64-netboot-compute postscripts=mypostscript",
  ],
  run(ctx, args) {
    if (args.plus && args.minus) throw new UsageError("-p and -m cannot be used together");
    let attrs = parseAssignments(IMAGE_TYPE, args.assignments);
    if (args.plus || args.minus) attrs = editAttrs(findImage(ctx.db(), args.osimage)?.attrs ?? {}, attrs, args.plus ? "append" : "remove");
    const { created } = setImage(ctx.db(), args.osimage, attrs);
    ctx.log.info(`${created ? "Created" : "Changed"} image ${args.osimage}.`);
    return output({ image: args.osimage, created, attrs }, "");
  },
});
