import type { Attrs } from "./object";

/**
 * Attributes xcimg stores (so tabdump/tabrestore and bundles round-trip a site) but no xcimg
 * code reads: setting one must not look as if it did something. Found by comparing the
 * osimage/linuximage and node-table columns with what src/ reads; keep in step when a feature
 * starts using one (genimage reads otherpkglist, otherpkgdir and postinstall; pack, lite and
 * updatenode apply synclists: docs/genimage.md, docs/postscripts.md).
 */
const IMAGE_INERT = [
  "osupdatename",
  "cfmdir",
  "serverrole",
  "isdeletable",
  "osdistroname",
  "kitcomponents",
  "kerneldir",
  "nodebootif",
  "otherifce",
  "netdrivers",
  "krpmver",
  "permission",
  "dump",
  "crashkernelsize",
  "driverupdatesrc",
];

const NODE_INERT = [
  "appstatus",
  "appstatustime",
  "primarysn",
  "hidden",
  "updatestatus",
  "updatestatustime",
  "zonename",
  "supportedarchs",
  "monserver",
  "discoverynics",
  "cmdinterface",
  "current_osimage",
  "next_osimage",
  "nimserver",
  "routenames",
  "supportproxydhcp",
  "power",
  "mgt",
  "cons",
  "termserver",
  "termport",
  "conserver",
  "getmac",
  "cmdmapping",
  "consoleondemand",
  "consoleenabled",
  "interface",
  "otherinterfaces",
  "currchain",
  "ondiscover",
  "dhcpstatements",
  "adddhcpstatements",
];

const INERT = { osimage: new Set(IMAGE_INERT), node: new Set(NODE_INERT) };

/** The attributes of `attrs` (with a value) that xcimg keeps without acting on them. */
export function inertAttrs(kind: "osimage" | "node", attrs: Attrs): string[] {
  return Object.keys(attrs)
    .filter((a) => attrs[a] !== "" && INERT[kind].has(a))
    .sort();
}

/** The warning `set` prints once per command. */
export function inertWarning(names: readonly string[]): string | null {
  return names.length ? `stored, not acted on by xcimg: ${names.join(", ")}` : null;
}
