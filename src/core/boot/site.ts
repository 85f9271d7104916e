import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import { allRows } from "../db/rows";
import type { Logger } from "../log";

/**
 * The xCAT site-table keys that shape a node's boot (xcat.md §5): xcatdport (3001),
 * useflowcontrol, nodestatus, xcatdebugmode, and managedaddressmode=static with the
 * addresses from hosts.ip. xCAT takes netmask and gateway from its networks table, which
 * xcimg does not have yet: until then the site keys `netmask` (dotted or a prefix length) and
 * `gateway`, plus xCAT's `nameservers`, describe the provisioning network.
 */
export interface SiteSettings {
  xcatdPort: number;
  flowControl: boolean;
  noNodeStatus: boolean;
  debugMode: boolean;
  staticAddresses: boolean;
  prefix?: number;
  gateway?: string;
  nameservers: string[];
  /** site.webgroup: the group that may read per-node files holding secrets (served-perms.ts). */
  webgroup?: string;
  /**
   * site.sharedtftp=1: the service nodes mount this tftpdir (xCAT's shared mode), so the MN
   * writes the boot files of SN-served nodes too. Otherwise each SN renders its own
   * (`xcimg sn sync`, docs/service-nodes.md). xCAT defaults to shared; xcimg does not, since
   * its SNs always render their own tftpdir.
   */
  sharedTftp: boolean;
}

export function siteSettings(db: Db): SiteSettings {
  const site = new Map(allRows(db, "site").map((r) => [r.key as string, r.value ?? ""]));
  const get = (k: string) => site.get(k) ?? "";
  const port = Number.parseInt(get("xcatdport"), 10);
  return {
    xcatdPort: Number.isInteger(port) && port > 0 ? port : 3001,
    flowControl: /^(1|yes|y|true)$/i.test(get("useflowcontrol")),
    noNodeStatus: /^(n|N|0)$/.test(get("nodestatus")),
    debugMode: get("xcatdebugmode") === "1" || get("xcatdebugmode") === "2",
    staticAddresses: get("managedaddressmode") === "static",
    prefix: prefixLength(get("netmask")),
    gateway: get("gateway") || undefined,
    nameservers: get("nameservers")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => /^[0-9.]+$/.test(s)),
    webgroup: get("webgroup") || undefined,
    sharedTftp: /^(1|yes|y|true)$/i.test(get("sharedtftp")),
  };
}

function prefixLength(mask: string): number | undefined {
  if (/^\d{1,2}$/.test(mask)) return Number(mask);
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(mask);
  if (!m) return undefined;
  const bits = m
    .slice(1)
    .map((o) => Number(o).toString(2).padStart(8, "0"))
    .join("");
  return bits.indexOf("0") < 0 ? 32 : bits.indexOf("0");
}

/**
 * Keys root on the nodes accepts: the management node's own (ssh.identity + ".pub") and
 * xCAT's <installdir>/postscripts/_ssh/authorized_keys, which sites migrating from xCAT have.
 */
export function authorizedKeys(config: Config, log: Logger): string {
  const lines = new Set<string>();
  for (const f of [`${config["ssh.identity"]}.pub`, join(config.installdir, "postscripts", "_ssh", "authorized_keys")]) {
    if (!existsSync(f)) continue;
    try {
      for (const l of readFileSync(f, "utf8").split("\n")) if (l.trim() && !l.startsWith("#")) lines.add(l.trim());
    } catch (e) {
      log.warn(`cannot read ${f}: ${(e as Error).message}`);
    }
  }
  if (lines.size === 0) log.warn(`no public key at ${config["ssh.identity"]}.pub: nodes will not accept root logins by key`);
  return lines.size ? `${[...lines].join("\n")}\n` : "";
}
