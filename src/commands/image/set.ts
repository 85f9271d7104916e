import { argumentError } from "../../cli/args";
import { leaf, output } from "../../cli/command";
import { readInput } from "../../cli/input";
import { findImage, IMAGE_TYPE, setImage } from "../../core/defs/image";
import { inertAttrs, inertWarning } from "../../core/defs/inert-attrs";
import { type ListMode, listChange, resolveListEdits, splitListEdits } from "../../core/defs/list-edit";
import { parseAssignments } from "../../core/defs/object";
import { parseStanzaFile } from "../../core/defs/stanza-file";
import { DataError } from "../../core/errors";
import { imageNameProblem } from "../../core/names";

export default leaf({
  name: "image set",
  description: "create an image or change its attributes (xCAT mkdef/chdef -t osimage); attr= clears one, attr,=v adds to a list, attr^=v removes",
  args: {
    osimage: { type: "positional", required: false, description: "image name (with -z: the stanza file, default stdin)" },
    assignments: {
      type: "positional",
      variadic: true,
      required: false,
      description: "attr=value (osimage and linuximage columns), attr,=value (add to the list), attr^=value (remove)",
      valueHint: "attr=value",
    },
    plus: { type: "boolean", alias: "p", description: "add the values to the comma-separated lists already stored (chdef -p)" },
    minus: { type: "boolean", alias: "m", description: "remove the values from the lists already stored (chdef -m)" },
    create: { type: "boolean", description: "only create: refuse an image that already exists (xCAT mkdef)" },
    stanza: { type: "boolean", alias: "z", description: "read image definitions from a stanza file or stdin ('image show -z' output); all or nothing" },
  },
  examples: [
    "xcimg image set rocky9-x86_64-netboot-compute provmethod=netboot osvers=rhels9.4 osarch=x86_64 profile=compute",
    "xcimg image set rocky9-x86_64-netboot-compute exlist=/install/custom/netboot/rh/compute.exlist",
    "xcimg image set rocky9-x86_64-netboot-compute addkcmdline=",
    "xcimg image set -p rocky9-x86_64-netboot-compute postscripts=mypostscript",
    "xcimg image set -z < rocky9.stanza",
  ],
  run(ctx, args) {
    if (args.plus && args.minus) throw argumentError("-p and -m cannot be used together");
    const mode: ListMode = args.plus ? "append" : args.minus ? "remove" : "replace";
    const db = ctx.db();
    if (args.stanza) {
      if (args.assignments.length) throw argumentError("-z reads everything from the stanza file: no attr=value with it");
      const input = readInput(args.osimage);
      const stanzas = parseStanzaFile(input.text, input.name, IMAGE_TYPE, imageNameProblem);
      if (args.create) for (const s of stanzas) refuseExisting(findImage(db, s.name) !== null, s.name);
      const inert = inertWarning([...new Set(stanzas.flatMap((s) => inertAttrs("osimage", s.attrs)))].sort());
      if (inert) ctx.log.warn(inert);
      const created = db.write(() =>
        stanzas
          .filter((s) => {
            const change = listChange(s.attrs, [], mode);
            return setImage(db, s.name, resolveListEdits(db, IMAGE_TYPE, s.name, change.attrs, change.edits)).created;
          })
          .map((s) => s.name),
      );
      ctx.log.info(`${stanzas.length} image(s) set from ${input.name}${created.length ? `, ${created.length} created` : ""}.`);
      return output({ images: stanzas.map((s) => s.name), created }, "");
    }
    if (args.osimage === undefined) throw argumentError("missing OSIMAGE");
    if (args.assignments.length === 0) throw argumentError("missing ASSIGNMENTS");
    const { plain, edits } = splitListEdits(IMAGE_TYPE, args.assignments);
    const given = parseAssignments(IMAGE_TYPE, plain);
    if (args.create) refuseExisting(findImage(db, args.osimage) !== null, args.osimage);
    const inert = inertWarning(inertAttrs("osimage", { ...given, ...Object.fromEntries(edits.map((e) => [e.attr, e.value])) }));
    if (inert) ctx.log.warn(inert);
    const change = listChange(given, edits, mode);
    const osimage = args.osimage;
    // read the stored lists under the write lock: a concurrent append is not lost (defs/list-edit.ts)
    const { created, attrs } = db.write(() => {
      const attrs = resolveListEdits(db, IMAGE_TYPE, osimage, change.attrs, change.edits);
      return { ...setImage(db, osimage, attrs), attrs };
    });
    ctx.log.info(`${created ? "Created" : "Changed"} image ${args.osimage}.`);
    return output({ image: args.osimage, created, attrs }, "");
  },
});

/** mkdef's refusal: a definition is never silently merged into. */
function refuseExisting(exists: boolean, name: string): void {
  if (exists) throw new DataError(`A definition for '${name}' already exists.`, { hint: "change it with 'xcimg image set' (chdef), or remove it first" });
}
