import { leaf, output } from "../cli/command";
import { genimage } from "../core/genimage/genimage";

export default leaf({
  name: "genimage",
  description: "build a diskless image's root tree from distribution packages (xCAT genimage)",
  args: {
    osimage: { type: "positional", required: false, description: "the image to build (default: <osver>-<arch>-netboot-<profile> from -o/-a/-p)" },
    osver: { type: "string", alias: "o", description: "OS version, e.g. debian12, rhels9.4 (written into the image's osvers)" },
    arch: { type: "string", alias: "a", description: "architecture (default: the image's osarch, else x86_64)" },
    profile: { type: "string", alias: "p", description: "profile (default: the image's, else compute)" },
    kernelver: { type: "string", alias: "k", description: "kernel version to boot (written into linuximage.kernelver)" },
    dryrun: { type: "boolean", description: "print what would run; change nothing" },
    noupdate: { type: "boolean", description: "do not upgrade the packages already in the tree (rebuilds over the current tree)" },
    fresh: { type: "boolean", description: "build from nothing instead of over a copy of the current tree" },
    insecure: { type: "boolean", description: "do not verify repository and package signatures (announced; not recommended)" },
  },
  examples: [
    "xcimg genimage -o debian12 -p compute                    # image debian12-x86_64-netboot-compute from this machine's Debian mirror",
    "xcimg image set rocky9-x86_64-netboot-compute pkgdir=/install/rocky9.4/x86_64 && xcimg genimage rocky9-x86_64-netboot-compute",
    "xcimg genimage debian12-x86_64-netboot-compute --dryrun  # the bootstrap and apt-get commands, the postinstall scripts",
    "xcimg genimage debian12-x86_64-netboot-compute --fresh && xcimg pack debian12-x86_64-netboot-compute",
  ],
  async run(ctx, args) {
    const result = await genimage(ctx, {
      image: args.osimage,
      osvers: args.osver,
      arch: args.arch,
      profile: args.profile,
      kernelver: args.kernelver,
      dryrun: args.dryrun ?? false,
      noupdate: args.noupdate ?? false,
      fresh: args.fresh ?? false,
      insecure: args.insecure ?? false,
    });
    return output(result, result.summary);
  },
});
