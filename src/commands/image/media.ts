import { leaf, output } from "../../cli/command";
import { stanza } from "../../core/defs/object";
import { importMedia } from "../../core/media/install-image";

export default leaf({
  name: "image media",
  description: "copy an OS ISO to installdir and define its images, or define them over media already there (xCAT copycds)",
  args: {
    dir: { type: "positional", description: "an ISO file or CD/DVD device (copied to <installdir>/<os>/<arch>), or a media directory under installdir" },
    osvers: { type: "string", alias: "n", description: "OS name and version when the media does not tell (xCAT copycds -n), e.g. rhels9.4" },
    arch: { type: "string", alias: "a", description: "architecture when the media does not tell (copycds -a), e.g. x86_64" },
    profile: { type: "string", alias: "p", description: "profile (default compute): picks <profile>.tmpl and <profile>.pkglist" },
    osimage: { type: "string", alias: "o", description: "image name (default <osvers>-<arch>-install-<profile>)" },
  },
  examples: [
    "xcimg image media Rocky-9.4-x86_64-dvd.iso                # copy to /install/rocky9.4/x86_64, define install, netboot, statelite images",
    "xcimg image media /install/rhels9.4/x86_64",
    "xcimg image media /install/debian12/x86_64 -p compute",
    "xcimg image media /install/sle15.5/x86_64 -o sles-hpc -p hpc",
    "xcimg image media /install/custom-iso/x86_64 -n rocky9.4 -a x86_64",
  ],
  async run(ctx, args) {
    const r = await importMedia(ctx, { dir: args.dir, osvers: args.osvers, arch: args.arch, profile: args.profile, name: args.osimage });
    if (r.detectedFrom) ctx.log.info(`Media in ${r.attrs.pkgdir} is ${r.attrs.osvers} ${r.attrs.osarch} (from ${r.detectedFrom}).`);
    for (const f of r.written)
      ctx.log.info(`Wrote xcimg's default ${f.endsWith(".tmpl") ? "template" : "package list"} to ${f}; edit it to customise the install.`);
    ctx.log.info(`${r.created ? "Created" : "Changed"} image ${r.image}.`);
    for (const s of r.samples)
      ctx.log.info(s.created ? `Created image ${s.image} (build it with: xcimg genimage ${s.image}).` : `Image ${s.image} exists; left as it is.`);
    return output(r, stanza(r.image, r.attrs));
  },
});
