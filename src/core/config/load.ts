import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, resolve } from "node:path";
import TOML from "@iarna/toml";
import { dbUrlProblem } from "../db/url";
import { ConfigError } from "../errors";
import { configFromEnv } from "./env";
import { locateKey } from "./locate";
import { CONFIG_SCHEMA, type Config, type ConfigKey, type KeySpec } from "./schema";

export const SYSTEM_CONFIG = "/etc/xcimg/xcimg.toml";

export interface LoadOptions {
  /** --config FILE; wins over XCIMG_CONFIG. */
  file?: string;
  env?: Record<string, string | undefined>;
}

/**
 * Built-in defaults < one TOML file (--config, else XCIMG_CONFIG, else /etc/xcimg/xcimg.toml
 * when present) < XCIMG_<KEY> environment variables (env.ts). Relative paths in a file are taken relative to that file's
 * directory, so a config can travel with the tree it describes.
 */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const explicit = opts.file ?? env.XCIMG_CONFIG;
  let file: string | null = null;
  if (explicit) {
    file = resolve(explicit);
    if (!existsSync(file)) throw new ConfigError(`config file ${file} does not exist`, { hint: "check --config or XCIMG_CONFIG" });
  } else if (existsSync(SYSTEM_CONFIG)) {
    file = SYSTEM_CONFIG;
  }
  const values = new Map<ConfigKey, unknown>();
  for (const [k, spec] of Object.entries(CONFIG_SCHEMA) as [ConfigKey, KeySpec][]) values.set(k, spec.default);
  const baseDir = file ? dirname(file) : process.cwd();
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
    }
    for (const [k, v] of Object.entries(parseToml(file, text))) values.set(k as ConfigKey, v);
  }
  // every key as XCIMG_<KEY> over the file (env.ts): a bootstrap script needs no config file;
  // relative paths there mean the current directory, as a flag's do
  const fromEnv = configFromEnv(env);
  fromEnv.delete("db.url"); // checked below, with its own hint
  // the database may be chosen per shell (XCIMG_DB_URL), over the file: one config, two databases
  const envUrl = env.XCIMG_DB_URL;
  if (envUrl) {
    const problem = dbUrlProblem(envUrl);
    if (problem) throw new ConfigError(`XCIMG_DB_URL ${problem}`, { hint: "e.g. XCIMG_DB_URL=postgresql://xcatadm@127.0.0.1:5432/xcatdb" });
    values.set("db.url", envUrl);
  }
  const out: Record<string, unknown> = { source: file };
  for (const [k, v] of values) {
    const spec: KeySpec = CONFIG_SCHEMA[k];
    out[k] = spec.type === "path" ? expandPath(String(v), baseDir, env) : v;
  }
  for (const [k, v] of fromEnv) {
    const spec: KeySpec = CONFIG_SCHEMA[k];
    out[k] = spec.type === "path" ? expandPath(String(v), process.cwd(), env) : v;
  }
  return out as Config;
}

/** Parse and validate one TOML file into flat `table.key` → value. */
export function parseToml(file: string, text: string): Record<string, unknown> {
  let doc: Record<string, unknown>;
  try {
    doc = TOML.parse(text) as Record<string, unknown>;
  } catch (e) {
    const err = e as { line?: number; col?: number; message: string };
    const reason = err.message.split("\n")[0]?.replace(/ at row \d+, col \d+, pos \d+:?$/, "") ?? "syntax error";
    const line = (err.line ?? 0) + 1;
    const col = (err.col ?? 0) + 1;
    throw new ConfigError(`${file}:${line}:${col}: ${reason}`);
  }
  const flat: Record<string, unknown> = {};
  const walk = (obj: Record<string, unknown>, prefix: string[]) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = [...prefix, k];
      const key = path.join(".");
      const isTable = v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date);
      if (Object.hasOwn(CONFIG_SCHEMA, key)) {
        const spec: KeySpec = CONFIG_SCHEMA[key as ConfigKey];
        const problem = typeProblem(spec, v) ?? (key === "db.url" ? dbUrlProblem(v as string) : null);
        if (problem) {
          const pos = locateKey(text, path);
          throw new ConfigError(`${file}:${pos.line}:${pos.col}: ${key} ${problem}`);
        }
        flat[key] = v;
      } else if (isTable && Object.keys(CONFIG_SCHEMA).some((s) => s.startsWith(`${key}.`))) {
        walk(v as Record<string, unknown>, path);
      } else {
        const pos = locateKey(text, path);
        const known = Object.keys(CONFIG_SCHEMA).join(", ");
        throw new ConfigError(`${file}:${pos.line}:${pos.col}: unknown key '${key}'`, { hint: `known keys: ${known}` });
      }
    }
  };
  walk(doc, []);
  return flat;
}

function typeProblem(spec: KeySpec, v: unknown): string | null {
  switch (spec.type) {
    case "string":
    case "path":
      return typeof v === "string" ? (v === "" && spec.type === "path" ? "must not be empty" : null) : `must be a string, not ${describe(v)}`;
    case "port":
      if (typeof v !== "number" || !Number.isInteger(v)) return `must be an integer, not ${describe(v)}`;
      return v >= 1 && v <= 65535 ? null : `must be a port number between 1 and 65535, not ${v}`;
    case "integer":
      return typeof v === "number" && Number.isInteger(v) ? null : `must be an integer, not ${describe(v)}`;
    case "boolean":
      return typeof v === "boolean" ? null : `must be true or false, not ${describe(v)}`;
    case "string[]":
      return Array.isArray(v) && v.every((x) => typeof x === "string") ? null : `must be an array of strings, not ${describe(v)}`;
  }
}

function describe(v: unknown): string {
  if (v instanceof Date) return "a date";
  if (Array.isArray(v)) return "an array";
  if (v !== null && typeof v === "object") return "a table";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** `~` and `~/x` become the invoking user's home; relative paths are anchored at baseDir. */
export function expandPath(p: string, baseDir: string, env: Record<string, string | undefined> = process.env): string {
  let out = p;
  if (out === "~" || out.startsWith("~/")) out = (env.HOME || homedir()) + out.slice(1);
  return isAbsolute(out) ? resolve(out) : resolve(baseDir, out);
}
