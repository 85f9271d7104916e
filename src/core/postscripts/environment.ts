import { readFileSync } from "node:fs";
import { urlPath } from "../boot/paths";
import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import { orderedFrom } from "../db/row-order";
import { allRows } from "../db/rows";
import type { Attrs } from "../defs/object";
import { shq } from "../remote/shell";

/**
 * The variables a postscript sees, named and filled as xCAT's mypostscript fills them
 * (xCAT-server/share/xcat/mypostscript/mypostscript.tmpl, expanded by Postage.pm makescript):
 * every site-table key upper-cased (site.master as SITEMASTER), tabdump(networks) as
 * NETWORKS_LINES / NETWORKS_LINE<n>, the node's noderes/nodetype/hosts/mac/nics attributes,
 * and the osimage's package variables. Values are single-quoted: nothing in them is evaluated
 * when the node sources the file.
 *
 * Secrets never go in: the passwd table is not read, and site keys that name a password or
 * secret are left out (the file sits in the node's overlay and on the node in /xcatpost).
 */
export interface EnvInput {
  node: string;
  attrs: Attrs;
  image: { name: string; attrs: Attrs };
  /** netboot, statelite, install, sysclone: chain.currstate's first word (xCAT's NODESETSTATE). */
  state: string;
  /** The address the node reaches the management node at (noderes.xcatmaster, else config master). */
  master: string;
  /** The NIC the node boots from. */
  mac?: string;
  /** 1 when run by `updatenode` (xCAT's UPDATENODE). */
  updatenode?: boolean;
}

const SECRET_KEY = /passw|secret|credential|token/i;
const VAR = /^[A-Z_][A-Z0-9_]*$/;

/** Tables xcimg's schema may not have: read when a site added them, else nothing. */
function optionalRows(db: Db, table: string): Record<string, string>[] | null {
  if (db.driver.columns(table) === null) return null;
  const { from, order } = orderedFrom(db, table); // SQLite's rowid, PostgreSQL's recorded order
  const rows = db.all(`SELECT t.* FROM ${from} ORDER BY ${order}`);
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null || v === undefined ? "" : String(v)])));
}

/** xCAT's get_pkglist_tex, simplified: the package names of a comma-separated list of pkglist files, comma-joined. */
export function pkglistText(files: string | undefined): string {
  const out: string[] = [];
  for (const f of (files ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    let text = "";
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (!line || (line.startsWith("#") && !/^#NEW_INSTALL_LIST#/.test(line))) continue;
      out.push(line);
    }
  }
  return out.join(",");
}

/**
 * What postscriptEnv reads of the site's tables: the same for every node, so `xcimg boot` of
 * 10,000 nodes reads them once (siteScriptRows) instead of once per node — the per-node site,
 * networks and nics queries were a third of an unchanged boot's CPU time.
 */
export interface SiteScriptRows {
  /** SITE keys, SITEMASTER, INSTALLDIR, TFTPDIR, NETWORKS_LINE*: in xCAT's order, before the node's own. */
  siteVars: [string, string][];
  /** nics rows by node (null: the site has no nics table). */
  nics: Map<string, Record<string, string>> | null;
  /** pkglistText of an image's lists, read once per list, not once per node. */
  pkglist(files: string | undefined): string;
}

export function siteScriptRows(config: Config, db: Db): SiteScriptRows {
  const vars: [string, string][] = [];
  const set = (k: string, v: string | undefined) => vars.push([k, v ?? ""]);

  const site = allRows(db, "site").filter((r) => r.key && !(r.disable === "1" || r.disable === "yes"));
  let siteMaster = config.master;
  for (const r of site) {
    const key = (r.key as string).toUpperCase();
    if (key === "MASTER") {
      siteMaster = r.value ?? siteMaster;
      continue;
    }
    if (!VAR.test(key) || SECRET_KEY.test(key)) continue;
    set(key, r.value);
  }
  set("SITEMASTER", siteMaster);
  // xCAT's site.installdir/tftpdir are xcimg's configuration (the site rows, if any, came first)
  set("INSTALLDIR", config.installdir);
  set("TFTPDIR", config.tftpdir);

  const networks = optionalRows(db, "networks");
  if (networks) {
    set("NETWORKS_LINES", String(networks.length));
    networks.forEach((r, n) => {
      const cols = Object.keys(r).filter((c) => c !== "comments");
      set(`NETWORKS_LINE${n + 1}`, `${cols.map((c) => `${c}=${r[c]}`).join("||")}||comments=`);
    });
  }
  const nicRows = optionalRows(db, "nics");
  let nics: SiteScriptRows["nics"] = null;
  if (nicRows) {
    nics = new Map();
    // the first row of a node, as find() picked it
    for (const r of nicRows) if (r.node !== undefined && !nics.has(r.node)) nics.set(r.node, r);
  }
  const lists = new Map<string, string>();
  const pkglist = (files: string | undefined) => {
    let text = lists.get(files ?? "");
    if (text === undefined) {
      text = pkglistText(files);
      lists.set(files ?? "", text);
    }
    return text;
  };
  return { siteVars: vars, nics, pkglist };
}

export function postscriptEnv(config: Config, db: Db, i: EnvInput, shared: SiteScriptRows = siteScriptRows(config, db)): [string, string][] {
  const a = i.attrs;
  const img = i.image.attrs;
  const vars: [string, string][] = [...shared.siteVars];
  const set = (k: string, v: string | undefined) => vars.push([k, v ?? ""]);

  set("NODE", i.node);
  set("IPADDR", a.ip);
  set("GROUP", a.groups);
  set("NFSSERVER", a.nfsserver && a.nfsserver !== "<xcatmaster>" ? a.nfsserver : i.master);
  set("INSTALLNIC", a.installnic);
  set("PRIMARYNIC", a.primarynic);
  set("MASTER", i.master);
  set("XCATMASTER", i.master);
  set("MASTER_IP", /^[0-9.]+$/.test(i.master) ? i.master : "");
  set("SERVICEGROUP", a.servicenode);
  set("SYSLOG", a.syslog);
  set("NODEROUTENAMES", a.routenames);
  set("OSVER", img.osvers ?? a.os);
  set("ARCH", img.osarch ?? a.arch);
  set("PROFILE", img.profile ?? a.profile);
  set("PROVMETHOD", i.image.name);
  set("IMAGENAME", i.image.name);
  set("NODESETSTATE", i.state);
  set("UPDATENODE", i.updatenode ? "1" : "0");
  set("NTYPE", a.nodetype || "compute");
  set("MACMAC", a.mac);
  set("MACADDRESS", i.mac ?? "");
  set("HOSTNAMES", a.hostnames);
  set("OTHERINTERFACES", a.otherinterfaces);

  // OSIMAGE_VARS_EXPORT
  if (img.pkgdir) set("OSPKGDIR", img.pkgdir);
  if (img.otherpkgdir) {
    set("OTHERPKGDIR", img.otherpkgdir);
    set("OTHERPKGDIR_URL", otherpkgUrls(config, i.master, img.otherpkgdir));
  }
  const ospkgs = shared.pkglist(img.pkglist);
  if (ospkgs) set("OSPKGS", ospkgs);
  const other = shared.pkglist(img.otherpkglist);
  if (other) {
    const lists = other.split("#NEW_INSTALL_LIST#").map((s) => s.replace(/^,+|,+$/g, ""));
    for (const [n, l] of lists.entries()) set(`OTHERPKGS${n + 1}`, l);
    set("OTHERPKGS_INDEX", String(lists.length));
  }
  for (const e of (img.environvar ?? "").split(",")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S*)\s*$/.exec(e);
    if (m) set(m[1] as string, m[2]);
  }

  const nics = shared.nics?.get(i.node);
  if (nics) {
    for (const col of ["nicips", "nichostnamesuffixes", "nictypes", "niccustomscripts", "nicnetworks", "nicextraparams", "nicdevices"])
      set(col.toUpperCase(), nics[col]);
    set("NICNODE", i.node);
  }
  return vars;
}

/**
 * xcimg's own variable for its otherpkgs: where the node fetches each otherpkgdir entry (comma
 * list, as xCAT allows): an http(s) URL as it is, a directory of the management node through
 * xcimg's HTTP server (xCAT's otherpkgs builds http://<server><dir> on the node instead).
 */
function otherpkgUrls(config: Config, master: string, otherpkgdir: string): string {
  const host = master.includes(":") ? `[${master}]` : master;
  return otherpkgdir
    .split(",")
    .map((d) => d.trim())
    .filter(Boolean)
    .map((d) => (/^https?:\/\//.test(d) ? d : `http://${host}:${config["http.port"]}${urlPath(config, d.replace(/\/+$/, ""))}`))
    .join(",");
}

/** The variables as xCAT writes them: `K='v'` and `export K`, one pair per variable. */
export function exportLines(vars: [string, string][]): string {
  return vars.map(([k, v]) => `${k}=${shq(v)}\nexport ${k}\n`).join("");
}
