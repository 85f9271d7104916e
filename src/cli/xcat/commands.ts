import { isTableName, TABLES } from "../../core/db/tables";
import { NODE_TYPE } from "../../core/defs/node";
import { NotImplementedError, UsageError } from "../../core/errors";
import { all, getopt, has, type OptSpec, one, type Parsed } from "./getopt";

/**
 * xCAT's command names, with xCAT's flag spellings, translated to the xcimg commands that do
 * the same work, so `xcimg packimage -m cpio img` (or a `packimage -> xcimg` symlink) runs a
 * site's scripts unchanged. Each entry keeps the usage lines of the xCAT client it stands for;
 * the flags follow xCAT-test/autotest/testcase/<command>/ and the clients' own usage text.
 * `-h`/`-?`/`--help` print that usage, `-v`/`--version` the version, `-V`/`--verbose` are
 * xcimg's verbose: in these commands `-v` means version, as in xCAT.
 */
export interface XcatCommand {
  usage: string[];
  /** The xcimg command(s) it runs, for the help text. */
  runs: string;
  options: OptSpec;
  /** The xcimg command lines to run, in order (each must succeed before the next). */
  translate(p: Parsed): string[][];
}

const COMMON: OptSpec = { h: "bool", "?": "bool", help: "bool", v: "bool", version: "bool", V: "bool", verbose: "bool" };

const need = (p: Parsed, n: number, what: string, usage: string[], max = n) => {
  if (p.positionals.length < n) throw new UsageError(`missing ${what}`, { hint: usage[0] });
  if (p.positionals.length > max) throw new UsageError(`unexpected argument '${p.positionals[max]}'`, { hint: usage[0] });
  return p.positionals;
};

const isAssignment = (s: string) => /^[A-Za-z0-9_.]+[+]?=/.test(s);

/** lsdef/chdef -w attr<op>value on node attributes → the noderange selector table.column<op>value. */
function nodeSelector(cond: string): string {
  const m = /^([A-Za-z0-9_]+)(==|!=|=~|!~)(.*)$/.exec(cond);
  const spec = m ? NODE_TYPE.attrs[m[1] as string] : undefined;
  if (!m || !spec)
    throw new UsageError(`cannot select nodes by '${cond}'`, { hint: "use attr==value, attr!=value, attr=~regex or attr!~regex on a node attribute" });
  return `${spec.table}.${spec.column}${m[2]}${m[3]}`;
}

type ObjType = "node" | "osimage" | "group";
function objType(p: Parsed, usage: string[]): ObjType {
  const t = one(p, "t") ?? "node";
  if (t === "node" || t === "osimage" || t === "group") return t;
  throw new NotImplementedError(`'${t}' is not a valid object type for xcimg: it keeps node, osimage and group definitions`, { hint: usage[0] });
}

/** The object names of chdef/mkdef/lsdef/rmdef: -o names, else the first positional that is not attr=value. */
function objectNames(p: Parsed): { names: string | undefined; attrs: string[] } {
  const o = one(p, "o");
  if (o !== undefined) return { names: o, attrs: p.positionals };
  const [first, ...rest] = p.positionals;
  if (first !== undefined && !isAssignment(first)) return { names: first, attrs: rest };
  return { names: undefined, attrs: p.positionals };
}

function defChange(cmd: "chdef" | "mkdef", usage: string[]) {
  return (p: Parsed): string[][] => {
    const type = objType(p, usage);
    const { names, attrs } = objectNames(p);
    const flags = [...(has(p, "p") ? ["-p"] : []), ...(has(p, "m") ? ["-m"] : []), ...(cmd === "mkdef" && !has(p, "f") ? ["--create"] : [])];
    if (has(p, "z")) {
      if (type === "group") throw new NotImplementedError(`${cmd} -z reads node and osimage stanzas only`);
      return [[type === "node" ? "node" : "image", "set", "-z", ...flags]];
    }
    if (names === undefined) throw new UsageError("no object name given", { hint: usage[0] });
    if (type === "group") {
      const where = all(p, "w").flatMap((w) => ["-w", w]);
      return [["group", "set", names, ...(has(p, "d") ? ["-d"] : []), ...where, ...flags.filter((f) => f !== "--create"), ...attrs]];
    }
    if (type === "osimage") {
      if (names.includes(",")) throw new UsageError(`${cmd} -t osimage takes one image at a time in xcimg`, { hint: "run it once per image" });
      return [["image", "set", names, ...flags, ...attrs]];
    }
    const rename = one(p, "n");
    if (rename !== undefined) return [["node", "set", names, "-n", rename]];
    return [["node", "set", names, ...flags, ...attrs]];
  };
}

const DEF_OPTS: OptSpec = { t: "value", o: "value", p: "bool", m: "bool", z: "bool", n: "value", f: "bool", d: "bool", w: "many" };

export const XCAT_COMMANDS: Record<string, XcatCommand> = {
  packimage: {
    usage: [
      "Usage: packimage [-m cpio|tar|squashfs] [-c gzip|pigz|zstd|xz] <imagename>",
      "       packimage [-h | --help]",
      "       packimage [-v | --version]",
    ],
    runs: "xcimg pack",
    options: { m: "value", method: "value", c: "value", compress: "value", o: "value", p: "value", a: "value" },
    translate(p) {
      if (has(p, "o", "p", "a"))
        throw new UsageError("packimage -o/-p/-a (os, profile, arch) is not supported: give the osimage name", {
          hint: "packimage <os>-<arch>-netboot-<profile>",
        });
      const [img] = need(p, 1, "the osimage name", this.usage);
      const m = one(p, "m", "method");
      const c = one(p, "c", "compress");
      return [["pack", img as string, ...(m ? ["-m", m] : []), ...(c ? ["-c", c] : [])]];
    },
  },
  nodeset: {
    usage: ["Usage: nodeset <noderange> [boot|stat|offline|osimage[=<imagename>]]", "       nodeset [-h | --help | -v | --version]"],
    runs: "xcimg boot",
    options: {},
    translate(p) {
      const [nr, what] = need(p, 2, "the noderange and the action (osimage=<image>, boot, stat or offline)", this.usage);
      // xcimg boot takes xCAT's positional forms itself and refuses the ones it lacks (shell, runcmd=)
      return [["boot", nr as string, what as string]];
    },
  },
  imgexport: {
    usage: ["Usage: imgexport <imagename> [<destination>] [-p <node>] [-e <extra file>]...", "       imgexport [-h | --help | -v | --version]"],
    runs: "xcimg export",
    options: { p: "value", postscripts: "value", e: "many", extra: "many" },
    translate(p) {
      const [img, dest] = need(p, 1, "the osimage name", this.usage, 2);
      const node = one(p, "p", "postscripts");
      return [["export", img as string, ...(dest ? [dest] : []), ...(node ? ["-p", node] : []), ...all(p, "e", "extra").flatMap((e) => ["-e", e])]];
    },
  },
  imgimport: {
    usage: ["Usage: imgimport <bundle_file_name> [-p <nodes>] [-f <new_profile>] [--force]", "       imgimport [-h | --help | -v | --version]"],
    runs: "xcimg import",
    // --force is xcimg's: xCAT replaces an existing image unasked (docs/migrating-from-xcat.md)
    options: { p: "value", postscripts: "value", f: "value", profile: "value", force: "bool" },
    translate(p) {
      const [bundle] = need(p, 1, "the bundle file", this.usage);
      const nodes = one(p, "p", "postscripts");
      const prof = one(p, "f", "profile");
      const force = has(p, "force") ? ["--force"] : [];
      return [["import", bundle as string, ...(nodes ? ["-p", nodes] : []), ...(prof ? ["-f", prof] : []), ...force]];
    },
  },
  liteimg: {
    usage: ["Usage: liteimg <imagename>", "       liteimg [-h | --help | -v | --version]"],
    runs: "xcimg lite",
    options: { o: "value", p: "value", a: "value" },
    translate(p) {
      if (has(p, "o", "p", "a"))
        throw new UsageError("liteimg -o/-p/-a (os, profile, arch) is not supported: give the osimage name", {
          hint: "liteimg <os>-<arch>-statelite-<profile>",
        });
      const [img] = need(p, 1, "the osimage name", this.usage);
      return [["lite", img as string]];
    },
  },
  lslite: {
    usage: ["Usage: lslite [-i <imagename>] | [<noderange>]", "       lslite [-h | --help]"],
    runs: "xcimg lite --list",
    options: { i: "value" },
    translate(p) {
      const img = one(p, "i");
      if (img === undefined) {
        const [nr] = need(p, 1, "-i <imagename> or a noderange", this.usage);
        return [["lite", "--list", "--nodes", nr as string]];
      }
      need(p, 0, "", this.usage);
      return [["lite", "--list", img]];
    },
  },
  tabdump: {
    usage: [
      "Usage: tabdump [-d] [table]",
      "       tabdump [-f <filename>] [table]",
      "       tabdump [-w attr==val [-w attr=~val] ...] [-f <filename>] [table]",
      "       tabdump [-?|-h|--help]",
      "       tabdump {-v|--version}",
    ],
    runs: "xcimg table dump",
    options: { d: "bool", f: "value", w: "many" },
    translate(p) {
      const [table] = need(p, 0, "", this.usage, 1);
      const f = one(p, "f");
      return [["table", "dump", ...(table ? [table] : []), ...(has(p, "d") ? ["-d"] : []), ...(f ? ["-f", f] : []), ...all(p, "w").flatMap((w) => ["-w", w])]];
    },
  },
  tabrestore: {
    usage: ["Usage: tabrestore [-a] <tablename>.csv", "       tabrestore [-?|-h|--help]", "       tabrestore {-v|--version}"],
    runs: "xcimg table restore",
    options: { a: "bool", addrows: "bool" },
    translate(p) {
      const [file] = need(p, 1, "the CSV file", this.usage);
      return [["table", "restore", file as string, ...(has(p, "a", "addrows") ? ["-a"] : [])]];
    },
  },
  chtab: {
    usage: [
      "Usage: chtab [key=value[,key=value]] table.column=value [table.column=value] ...",
      "       chtab [key=value[,key=value]] table.column+=value",
      "       chtab -d key=value[,key=value] table",
      "       chtab [-h | --help | -v | --version]",
    ],
    runs: "xcimg table set / table rm",
    options: { d: "bool", delete: "bool" },
    translate(p) {
      if (p.positionals.length === 0) throw new UsageError("missing arguments", { hint: this.usage[0] });
      if (has(p, "d", "delete")) {
        const [key, table, ...more] = need(p, 2, "the key and the table", this.usage, 2 + 99);
        if (more.length) throw new UsageError("chtab -d on several tables: run it once per table in xcimg");
        if (!isTableName(table as string)) throw new UsageError(`Table ${table} does not exist.`, { hint: "list them with 'xcimg table list'" });
        return [["table", "rm", table as string, key as string]];
      }
      const keys: string[] = [];
      const sets = new Map<string, string[]>();
      for (const a of p.positionals) {
        const m = /^([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)(\+?=.*)$/s.exec(a);
        if (m) sets.set(m[1] as string, [...(sets.get(m[1] as string) ?? []), `${m[2]}${m[3]}`]);
        else if (isAssignment(a)) keys.push(...a.split(/,(?=[A-Za-z0-9_]+=)/));
        else throw new UsageError(`'${a}' is neither key=value nor table.column=value`, { hint: this.usage[0] });
      }
      if (sets.size !== 1)
        throw new UsageError(sets.size ? "chtab on several tables: run it once per table in xcimg" : "no table.column=value given", { hint: this.usage[0] });
      const [[table, given]] = [...sets] as [[string, string[]]];
      // litefile.image=ALL litefile.file=/x: the key columns may come as table.column= too
      const keyCols = isTableName(table) ? (TABLES[table].keys as readonly string[]) : [];
      const cols = given.filter((c) => {
        const col = c.slice(0, c.indexOf("="));
        if (!keyCols.includes(col)) return true;
        keys.push(c);
        return false;
      });
      if (!isTableName(table)) throw new UsageError(`Table ${table} does not exist.`, { hint: "list them with 'xcimg table list'" });
      if (cols.length === 0) throw new UsageError("no column to set", { hint: this.usage[0] });
      return [["table", "set", table, keys.join(","), ...cols]];
    },
  },
  chdef: {
    usage: [
      "Usage: chdef [-t node|osimage|group] [-o <names>] [-n <new name>] [-p|-m] [-z] [attr=val ...] [noderange]",
      "       chdef -t group [-o <name>] [-d -w attr<op>val ...] [-p|-m] [members=<noderange>]",
      "       chdef [-h | --help | -v | --version]",
    ],
    runs: "xcimg node set / image set / group set",
    options: DEF_OPTS,
    translate(p) {
      return defChange("chdef", this.usage)(p);
    },
  },
  mkdef: {
    usage: [
      "Usage: mkdef [-t node|osimage|group] [-o <names>] [-f] [-z] [attr=val ...] [noderange]",
      "       mkdef -t group -o <name> [-d -w attr<op>val ...] [members=<noderange>]",
      "       mkdef [-h | --help | -v | --version]",
    ],
    runs: "xcimg node set --create / image set --create / group set",
    options: DEF_OPTS,
    translate(p) {
      return defChange("mkdef", this.usage)(p);
    },
  },
  lsdef: {
    usage: [
      "Usage: lsdef [-t node|osimage|group] [-o <names>] [-l|-s] [-z] [-i attr,...] [-w attr<op>val ...] [noderange]",
      "       lsdef [-a | --all]",
      "       lsdef [-h | --help | -v | --version]",
    ],
    runs: "xcimg node list/show, image list/show, group show",
    options: { t: "value", o: "value", l: "bool", long: "bool", s: "bool", short: "bool", z: "bool", i: "value", w: "many", a: "bool", all: "bool", c: "bool" },
    translate(p) {
      if (has(p, "a", "all"))
        return [
          ["node", "list", "--typed"],
          ["image", "list", "--typed"],
        ];
      const type = objType(p, this.usage);
      const { names, attrs } = objectNames(p);
      if (attrs.length) throw new UsageError(`unexpected argument '${attrs[0]}'`, { hint: this.usage[0] });
      const z = has(p, "z") ? ["-z"] : [];
      const i = one(p, "i");
      const pickAttrs = i === undefined ? [] : ["-i", i];
      if (type === "osimage")
        return names === undefined ? [["image", "list", "--typed"]] : names.split(",").map((n) => ["image", "show", n, ...z, ...pickAttrs]);
      if (type === "group") {
        if (names === undefined)
          throw new NotImplementedError("listing every group is not supported by xcimg yet", {
            hint: "lsdef -t group -o <name>, or 'xcimg table dump nodegroup'",
          });
        return [["group", "show", names]];
      }
      const where = all(p, "w").map(nodeSelector);
      const range = [names, ...where].filter((x): x is string => x !== undefined).join("@");
      const short = has(p, "s", "short") || (names === undefined && !has(p, "l", "long") && !z.length && i === undefined);
      if (short) return [["node", "list", ...(range ? [range] : []), "--typed"]];
      return [["node", "show", range || "all", ...z, ...pickAttrs]];
    },
  },
  rmdef: {
    usage: ["Usage: rmdef [-t node|osimage|group] [-o <names>] [noderange]", "       rmdef [-h | --help | -v | --version]"],
    runs: "xcimg node rm / image rm / group rm",
    options: { t: "value", o: "value", f: "bool", a: "bool" },
    translate(p) {
      const type = objType(p, this.usage);
      const { names, attrs } = objectNames(p);
      if (names === undefined) throw new UsageError("no object name given", { hint: this.usage[0] });
      if (attrs.length) throw new UsageError(`unexpected argument '${attrs[0]}'`, { hint: this.usage[0] });
      if (type === "osimage") return names.split(",").map((n) => ["image", "rm", n]);
      if (type === "group") return names.split(",").map((n) => ["group", "rm", n]);
      return [["node", "rm", names]];
    },
  },
  rmimage: {
    usage: ["Usage: rmimage <imagename> [--xcatdef]", "       rmimage [-h | --help | -v | --version]"],
    runs: "xcimg image rm --files --keep-definition",
    options: { xcatdef: "bool" },
    translate(p) {
      const [img] = need(p, 1, "the osimage name", this.usage);
      return [["image", "rm", img as string, "--files", ...(has(p, "xcatdef") ? [] : ["--keep-definition"])]];
    },
  },
};

export const XCAT_COMMAND_NAMES = Object.keys(XCAT_COMMANDS);

/**
 * Names a symlink to the binary may have (multi-call): the translated xCAT commands above, and
 * xCAT commands xcimg implements under the same name and flags (genimage), which run directly.
 */
export const MULTI_CALL_NAMES = [...XCAT_COMMAND_NAMES, "genimage"];

export type XcatInvocation = { kind: "run"; argvs: string[][]; verbose: boolean } | { kind: "help"; text: string } | { kind: "version" };

/** Parse an xCAT command line: its help, its version, or the xcimg command lines to run. */
export function translateXcat(name: string, argv: readonly string[]): XcatInvocation {
  const cmd = XCAT_COMMANDS[name];
  if (!cmd) throw new UsageError(`unknown xCAT command '${name}'`);
  const p = getopt(name, argv, { ...COMMON, ...cmd.options }, cmd.usage.join("\n"));
  if (has(p, "h", "?", "help")) return { kind: "help", text: `${cmd.usage.join("\n")}\n\nxcimg runs this as: ${cmd.runs} (see its --help)\n` };
  if (has(p, "v", "version")) return { kind: "version" };
  const verbose = has(p, "V", "verbose");
  for (const f of ["h", "?", "help", "v", "version", "V", "verbose"]) p.opts.delete(f);
  return { kind: "run", argvs: cmd.translate(p), verbose };
}
