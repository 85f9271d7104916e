import { readdirSync } from "node:fs";
import { join } from "node:path";
import { isCryptHash, randomSalt, shaCrypt } from "./crypt";
import { isSecretColumn, isSecretVariable, isStandardCrypt, refusalHint } from "./secrets";
import { TableLookupError } from "./tables";
import { type RenderRequest, type SourceLine, TemplateError, TemplatePolicyError } from "./types";
import { httpPath } from "./urls";

/**
 * The substitution directives of xCAT's Template.pm that RHEL, SLES, Debian and Ubuntu
 * templates use, expanded in ONE pass per line: a value that itself looks like a directive (a
 * table cell containing `#COMMAND:...#`, say) is written out as text, never expanded again.
 * Unknown `#WORD#` tokens are left alone, as xCAT leaves them (they are comments in kickstart
 * and preseed files, e.g. `#XCAT_PARTITION_START#`).
 */
const DIRECTIVE_RE =
  /#(TABLE|TABLEBLANKOKAY):([^:#\n]+):([^:#\n]+):([^#\n]+)#|#(XCATVAR|ENV):([^#\n]+)#|#(CRYPT|CRYPTORLOCKED):([^:#\n]+):([^:#\n]+):([^#\n]+)#|#COMMAND:([^#\n]+)#|#(GETNODEDOMAIN|GETPRINICMAC):([^#\n]+)#|#(HOSTNAME|SHORTNAME|KICKSTARTNET|KICKSTARTBOOTLOADER|MIRRORSPEC|COLONHTTPPORT|MANAGEDADDRESSMODE|INSTALL_SOURCES|INSTALL_SOURCES_IN_PRE|INCLUDE_OSIMAGE_PKGDIR|WRITEREPO|UNCOMMENTOENABLESSH|UNCOMMENTOENABLEDEBUGPORT|INCLUDE_GET_INSTALL_DISK_SCRIPT|SLES_SDK_MEDIA|INCLUDE_DEFAULT_PKGLIST_PRESEED)#/g;

/** noderes columns xCAT falls back from when unset (Template.pm %tab_replacement). */
const REPLACEMENT: Record<string, string> = { "noderes.nfsserver": "xcatmaster", "noderes.tftpserver": "xcatmaster" };

export interface DirectiveState {
  req: RenderRequest;
  lookupVar: (name: string) => string | undefined;
  /** Package names for #INCLUDE_DEFAULT_PKGLIST_PRESEED#, read from the image's pkglist. */
  preseedPackages: () => string;
}

export function substituteLine(line: SourceLine, st: DirectiveState): string {
  if (line.raw) return line.text;
  const fail = (detail: string, hint?: string): never => {
    throw new TemplateError(st.req.node, line.file, line.line, detail, hint);
  };
  return line.text.replace(DIRECTIVE_RE, (...m: (string | undefined)[]) => {
    if (line.untrusted) refuseSecrets(m, st, line);
    try {
      return expand(m, st, fail);
    } catch (e) {
      if (e instanceof TableLookupError) fail(e.message);
      throw e;
    }
  });
}

type Fail = (detail: string, hint?: string) => never;

/** What a line from a file that is not the site's own may not ask for (secrets.ts). */
function refuseSecrets(m: (string | undefined)[], st: DirectiveState, line: SourceLine): void {
  const deny = (what: string): never => {
    throw new TemplatePolicyError(
      st.req.node,
      line.file,
      line.line,
      `${m[0]} refused: ${line.untrusted}, and only the site's own templates may ${what}`,
      refusalHint(line.file),
    );
  };
  if (m[1] && isSecretColumn(m[2] as string, m[4] as string)) deny(`read ${m[2]}.${m[4]}`);
  if (m[5]) {
    const name = (m[6] as string).replace(/^\$/, "");
    if (isSecretVariable(name) && !Object.hasOwn(st.req.vars, name)) deny("read secret-looking variables");
  }
  if (m[7] && !isStandardCrypt(m[8] as string, parseKey(m[9] as string).pairs, m[10] as string)) deny("hash passwords other than passwd key=system");
  if (m[11]) deny("run commands on the management node");
}

function expand(m: (string | undefined)[], st: DirectiveState, fail: Fail): string {
  const { req } = st;
  if (m[1]) return tabdb(st, m[2] as string, m[3] as string, m[4] as string, m[1] === "TABLEBLANKOKAY", fail);
  if (m[5]) {
    const name = (m[6] as string).replace(/^\$/, "");
    const v = st.lookupVar(name);
    if (v === undefined) fail(`#${m[5]}:${m[6]}# is not set`, m[5] === "ENV" ? `export ${name} before running xcimg, or set osimage.environvar` : undefined);
    return v as string;
  }
  if (m[7]) return crydb(st, m[8] as string, m[9] as string, m[10] as string, m[7] === "CRYPTORLOCKED", fail);
  if (m[11]) return command(st, m[11], fail);
  if (m[12] === "GETNODEDOMAIN") return domainOf(st, fail);
  if (m[12] === "GETPRINICMAC") {
    const node = m[13] === "THISNODE" || m[13] === "$NODE" ? req.node : (m[13] as string);
    return macOf(st, node, fail);
  }
  switch (m[14]) {
    case "HOSTNAME":
      return req.node;
    case "SHORTNAME":
      return req.node.replace(/\..*$/, "");
    case "KICKSTARTNET":
      return kickstartNetwork(st, fail);
    case "KICKSTARTBOOTLOADER": {
      const pers = st.lookupVar("PERSKCMDLINE") ?? "";
      return pers ? `bootloader --append="${pers}"` : "bootloader";
    }
    case "MIRRORSPEC":
      return mirrorSpec(st);
    case "COLONHTTPPORT":
      return `:${req.httpPort}`;
    case "MANAGEDADDRESSMODE":
      return site(st, "managedaddressmode") ?? "";
    case "INSTALL_SOURCES":
      return installSources(st);
    case "INSTALL_SOURCES_IN_PRE":
      return installSourcesInPre(st);
    case "INCLUDE_OSIMAGE_PKGDIR":
      return httpPath(req.pkgdirs[req.pkgdirs.length - 1] ?? "", req.installdir);
    case "WRITEREPO":
      return "";
    case "UNCOMMENTOENABLESSH":
      return site(st, "xcatdebugmode") === "2" ? " " : "#UNCOMMENTOENABLESSH#";
    case "UNCOMMENTOENABLEDEBUGPORT": {
      const d = site(st, "xcatdebugmode");
      return d === "1" || d === "2" ? "" : "#UNCOMMENTOENABLEDEBUGPORT#";
    }
    case "INCLUDE_GET_INSTALL_DISK_SCRIPT":
      return "    ";
    case "SLES_SDK_MEDIA":
      return `${baseUrl(st)}${httpPath(req.pkgdirs[0] ?? "", req.installdir)}/sdk1`;
    case "INCLUDE_DEFAULT_PKGLIST_PRESEED":
      return st.preseedPackages();
    default:
      return fail(`internal: unhandled directive ${m[0]}`);
  }
}

function site(st: DirectiveState, key: string): string | undefined {
  return st.req.tables.keyedValue("site", { key }, "value");
}

function baseUrl(st: DirectiveState): string {
  return `http://${st.req.server}:${st.req.httpPort}`;
}

/** `key=v,key2=v2` → pairs; `$NODE`/`THISNODE` entries are returned as byNode. */
function parseKey(key: string): { pairs: Record<string, string>; byNode: boolean } {
  const pairs: Record<string, string> = {};
  let byNode = false;
  for (const part of key.split(",")) {
    if (part === "$NODE" || part === "THISNODE") {
      byNode = true;
      continue;
    }
    const eq = part.indexOf("=");
    if (eq > 0) pairs[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return { pairs, byNode };
}

function tabdb(st: DirectiveState, table: string, key: string, column: string, blankOk: boolean, fail: Fail): string {
  const { req } = st;
  const { pairs, byNode } = parseKey(key);
  let value: string | undefined;
  if (byNode) {
    value = req.tables.nodeValue(table, req.node, column);
    for (const [k, v] of Object.entries(pairs)) if (req.tables.nodeValue(table, req.node, k) !== v) value = undefined;
  } else {
    if (Object.keys(pairs).length === 0) fail(`#TABLE:${table}:${key}:${column}#: the key must be $NODE, THISNODE or column=value pairs`);
    value = req.tables.keyedValue(table, pairs, column);
  }
  if (value !== undefined || blankOk) return value ?? "";
  const rep = REPLACEMENT[`${table}.${column}`];
  if (rep) {
    const v = req.tables.nodeValue(table, req.node, rep);
    if (v !== undefined) return v;
  }
  if (table === "noderes" && (column === "xcatmaster" || rep) && st.lookupVar("XCATMASTER")) return st.lookupVar("XCATMASTER") as string;
  const shownKey = byNode && Object.keys(pairs).length === 0 ? `node=${req.node}` : key;
  return fail(`Unable to find requested field <${column}> from table <${table}>, with key <${shownKey}>`, missingHint(table, byNode, req.node, pairs, column));
}

function missingHint(table: string, byNode: boolean, node: string, pairs: Record<string, string>, column: string): string | undefined {
  if (table === "site" && pairs.key) return `set it with 'xcimg table set site key=${pairs.key} value=...'`;
  if (byNode)
    return `set ${table}.${column} for ${node} or one of its groups ('xcimg table set ${table} node=${node} ${column}=...'), or use #TABLEBLANKOKAY:...# where empty is fine`;
  return undefined;
}

/** Where #CRYPT# finds the root password, and how to put it there. */
const NO_PASSWD_TABLE_HINT =
  "the root password comes from xCAT's passwd table: 'xcimg table set passwd key=system,username=root password=<clear text or crypt hash>', or use #CRYPTORLOCKED:...# to leave root locked";

function crydb(st: DirectiveState, table: string, key: string, column: string, orLocked: boolean, fail: Fail): string {
  const { req } = st;
  const { pairs } = parseKey(key);
  if (Object.keys(pairs).length === 0) fail(`Unable to parse password parameters ${key}`);
  if (site(st, "secureroot") === "1") return "*";
  let password: string | undefined;
  try {
    password = req.tables.keyedValue(table, pairs, column);
  } catch (e) {
    if (!(e instanceof TableLookupError) || !e.message.startsWith("Unable to open table")) throw e;
    if (orLocked) return "*"; // no password table at all: nothing to set, so the account stays locked
    return fail(e.message, NO_PASSWD_TABLE_HINT);
  }
  if (password === undefined) {
    if (orLocked) return "*";
    return fail(
      `no ${column} in table ${table} for ${key}`,
      table === "passwd" ? NO_PASSWD_TABLE_HINT : `set it in the ${table} table, or use #CRYPTORLOCKED:...# to lock the account`,
    );
  }
  if (isCryptHash(password)) return password;
  let method: string | undefined;
  try {
    method = req.tables.keyedValue(table, pairs, "cryptmethod");
  } catch {
    method = undefined; // a passwd table without cryptmethod: use the default
  }
  if (method && method !== "sha512" && method !== "sha256") {
    return fail(`Unsupported crypt method ${method}`, "use cryptmethod sha512 (the default) or sha256, or store an already hashed password");
  }
  const alg = method === "sha256" ? "sha256" : "sha512";
  const cacheKey = `${alg}\0${password}`;
  const cached = req.cryptCache?.get(cacheKey);
  if (cached) return cached;
  const hashed = shaCrypt(password, (req.salt ?? randomSalt)(), alg);
  req.cryptCache?.set(cacheKey, hashed);
  return hashed;
}

function command(st: DirectiveState, cmd: string, fail: Fail): string {
  if (!st.req.allowCommands) {
    return fail(
      `#COMMAND:${cmd}# would run a shell command on this management node, which is off by default`,
      "allow it for this run with XCIMG_TEMPLATE_COMMANDS=1 if you trust every template and include file",
    );
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(st.req.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(st.req.vars)) env[k] = v;
  env.NODE = st.req.node;
  const proc = Bun.spawnSync(["/bin/sh", "-c", cmd], { env, stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) fail(`#COMMAND:${cmd}# exited with status ${proc.exitCode}: ${proc.stderr.toString().trim().slice(0, 300)}`);
  return proc.stdout.toString().replace(/\n$/, "");
}

/** The MAC xCAT's parseMacTabEntry picks: `mac` alone, or the `mac!host` entry naming the node. */
export function macOf(st: DirectiveState, node: string, fail: Fail): string {
  const v = st.req.tables.nodeValue("mac", node, "mac");
  if (!v) return fail(`missing mac data for ${node}`, `set it with 'xcimg node set ${node} mac=...'`);
  for (const entry of v.split("|")) {
    const [mac, host] = entry.split("!");
    if (!host || host === node || host.startsWith(`${node}.`)) return (mac ?? "").toLowerCase();
  }
  return (v.split("|")[0]?.split("!")[0] ?? "").toLowerCase();
}

function domainOf(st: DirectiveState, fail: Fail): string {
  const d = site(st, "domain");
  return (
    d ?? fail("Unable to find requested field <value> from table <site>, with key <key=domain>", "set it with 'xcimg table set site key=domain value=...'")
  );
}

function kickstartNetwork(st: DirectiveState, fail: Fail): string {
  const mode = site(st, "managedaddressmode") ?? "";
  if (/static|autoula/.test(mode))
    fail(`#KICKSTARTNET# with site.managedaddressmode=${mode} is not supported by xcimg yet`, "use DHCP (unset managedaddressmode)");
  return `network --onboot=yes --bootproto=dhcp --device=${macOf(st, st.req.node, fail)}`;
}

function mirrorSpec(st: DirectiveState): string {
  const { req } = st;
  const lines: string[] = [];
  const local: string[] = [];
  const remote: string[] = [];
  for (const d of req.pkgdirs) (/^(http|ssh)/.test(d) ? remote : local).push(d);
  const [first, ...others] = local;
  for (const d of others) remote.push(`${baseUrl(st)}${httpPath(d, req.installdir)} ./`);
  if (first) {
    const host = req.httpPort === 80 ? req.server : `${req.server}:${req.httpPort}`;
    const dir = httpPath(first, req.installdir);
    lines.push("d-i mirror/country string manual", "d-i mirror/protocol string http", `d-i mirror/http/directory string ${dir}`);
    lines.push(`d-i apt-setup/security_host string ${host}`, `d-i apt-setup/security_path string ${dir}`, "d-i mirror/http/proxy string");
  }
  remote.forEach((r, i) => {
    lines.push(`d-i apt-setup/local${i}/repository string deb ${r}`, `d-i apt-setup/local${i}/comment string online mirror ${i}`);
  });
  return lines.join("\n");
}

const RH_FAMILY = /^(rh|SL|centos|alma|ol|fedora|rocky)$/;

function installSources(st: DirectiveState): string {
  const { req } = st;
  const out: string[] = [];
  req.pkgdirs.forEach((dir, i) => {
    const url = /^(http|ftp)s?:/.test(dir) ? dir : `${baseUrl(st)}${httpPath(dir, req.installdir)}`;
    if (RH_FAMILY.test(req.platform)) out.push(i === 0 ? `url --url ${url}` : `repo --name=pkg${i} --baseurl=${url}`);
    else if (req.platform === "sles") {
      const modules = i === 0 ? sle15Modules(dir, url) : [];
      if (modules.length) {
        out.push(...modules);
        return;
      }
      const media = i === 0 ? `${url}/1` : url;
      out.push(
        `<listentry><media_url>${media}</media_url><product>SuSE-Linux-pkg${i}</product><product_dir>/</product_dir><ask_on_error config:type="boolean">false</ask_on_error><name>SuSE-Linux-pkg${i}</name></listentry>`,
      );
    }
  });
  return out.join("\n");
}

/**
 * SLE 15 "Full" media keeps its repositories in Module-* and Product-* directories; AutoYaST
 * must add each one (Template.pm's sle15 branch and _sle15_install_product_name): Module-X is
 * product sle-module-x, Product-X is X; SAP modules and products that are not plain SLES
 * (SUSE Manager, SLES_SAP, SLED) are left out as xCAT leaves them out.
 */
function sle15Modules(pkgdir: string, url: string): string[] {
  for (const [root, base] of [
    [join(pkgdir, "1"), `${url}/1`],
    [pkgdir, url],
  ] as const) {
    let dirs: string[];
    try {
      dirs = readdirSync(root)
        .filter((d) => /^(Module|Product)-/.test(d))
        .sort();
    } catch {
      continue;
    }
    const entries: string[] = [];
    for (const d of dirs) {
      if (/^Module-SAP-/.test(d) || /^Product-(SUSE-Manager-Server|SLES_SAP|SLED)/.test(d)) continue;
      const product = d.startsWith("Module-") ? `sle-${d.toLowerCase()}` : d.slice("Product-".length);
      entries.push(`<listentry><media_url>${base}</media_url><product>${product}</product><product_dir>/${d}</product_dir></listentry>`);
    }
    if (entries.length) return entries;
  }
  return [];
}

function installSourcesInPre(st: DirectiveState): string {
  const { req } = st;
  if (!RH_FAMILY.test(req.platform)) return "";
  return req.pkgdirs
    .map((dir, i) => {
      const url = `http://'$nextserver':${req.httpPort}${httpPath(dir, req.installdir)}`;
      return i === 0 ? `echo 'url --url ${url}' >> /tmp/repos` : `echo 'repo --name=pkg${i} --baseurl=${url}' >> /tmp/repos`;
    })
    .join("\n");
}
