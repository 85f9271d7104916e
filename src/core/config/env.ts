import { ConfigError } from "../errors";
import { CONFIG_SCHEMA, type ConfigKey, type KeySpec } from "./schema";

/**
 * Every config key also as an environment variable, for scripts that have no config file (a
 * service node's bootstrap script, issue #18): `XCIMG_` + the key upper-cased with dots as
 * underscores — `installdir` is XCIMG_INSTALLDIR, `ssh.known_hosts` XCIMG_SSH_KNOWN_HOSTS,
 * `sn.mn` XCIMG_SN_MN. The environment wins over the file, as XCIMG_DB_URL always did, and
 * loses to flags. Values are typed like the file's: a port must be a number.
 */
export function envName(key: ConfigKey): string {
  return `XCIMG_${key.toUpperCase().replace(/\./g, "_")}`;
}

/** The keys the environment sets, parsed and checked; relative paths are the caller's to anchor. */
export function configFromEnv(env: Record<string, string | undefined>): Map<ConfigKey, unknown> {
  const out = new Map<ConfigKey, unknown>();
  for (const [k, spec] of Object.entries(CONFIG_SCHEMA) as [ConfigKey, KeySpec][]) {
    const name = envName(k);
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    out.set(k, parseEnvValue(name, spec, raw));
  }
  return out;
}

function parseEnvValue(name: string, spec: KeySpec, raw: string): unknown {
  switch (spec.type) {
    case "string":
    case "path":
      return raw;
    case "port":
    case "integer": {
      if (!/^-?\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, not '${raw}'`);
      const n = Number.parseInt(raw, 10);
      if (spec.type === "port" && (n < 1 || n > 65535)) throw new ConfigError(`${name} must be a port number between 1 and 65535, not ${n}`);
      return n;
    }
    case "boolean":
      if (/^(1|true|yes)$/i.test(raw)) return true;
      if (/^(0|false|no)$/i.test(raw)) return false;
      throw new ConfigError(`${name} must be true or false, not '${raw}'`);
    case "string[]":
      return raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
  }
}
