import type { Config } from "../config/schema";
import type { Db } from "../db/open";
import { allRows } from "../db/rows";

/**
 * Sites move their xCAT `site` table over with `table restore site`. xcimg takes installdir,
 * tftpdir, master and the HTTP port from its TOML config, not from that table, so say so
 * whenever the two disagree instead of silently using a different directory.
 */
const SITE_TO_CONFIG: [siteKey: string, configKey: keyof Config][] = [
  ["installdir", "installdir"],
  ["tftpdir", "tftpdir"],
  ["master", "master"],
  ["httpport", "http.port"],
];

export function siteConfigDrift(db: Db, config: Config): string[] {
  const site = new Map(allRows(db, "site").map((r) => [r.key, r.value]));
  const out: string[] = [];
  for (const [key, ck] of SITE_TO_CONFIG) {
    const v = site.get(key);
    if (v !== undefined && String(config[ck]) !== v.replace(/\/+$/, "")) {
      out.push(
        `site.${key} is '${v}' but xcimg uses ${ck} = '${config[ck]}' from ${config.source ?? "its built-in defaults"}; set ${ck} in the config to use the site's value`,
      );
    }
  }
  return out;
}
