import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { envName } from "../../../src/core/config/env";
import { loadConfig } from "../../../src/core/config/load";
import { CONFIG_SCHEMA, type ConfigKey } from "../../../src/core/config/schema";
import { ConfigError } from "../../../src/core/errors";

const dir = mkdtempSync(join(tmpdir(), "xcimg-config-env-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("XCIMG_* environment variables (a bootstrap script without a config file)", () => {
  test("every key has one; names are XCIMG_ + the key upper-cased, dots as underscores", () => {
    expect(envName("ssh.known_hosts")).toBe("XCIMG_SSH_KNOWN_HOSTS");
    expect(envName("sn.mn")).toBe("XCIMG_SN_MN");
    const names = (Object.keys(CONFIG_SCHEMA) as ConfigKey[]).map(envName);
    expect(new Set(names).size).toBe(names.length);
  });

  test("the environment wins over the file, typed like the file's values", () => {
    const file = join(dir, "x.toml");
    writeFileSync(file, 'installdir = "/from/file"\nmaster = "10.0.0.1"\n[ssh]\nport = 2222\n');
    const c = loadConfig({ file, env: { XCIMG_INSTALLDIR: "/from/env", XCIMG_SSH_PORT: "22022", XCIMG_SN_MN: "mn1", HOME: "/root" } });
    expect(c.installdir).toBe("/from/env");
    expect(c["ssh.port"]).toBe(22022);
    expect(c.master).toBe("10.0.0.1");
    expect(c["sn.mn"]).toBe("mn1");
  });

  test("a relative path means the current directory; an empty variable is unset", () => {
    const c = loadConfig({ env: { XCIMG_TFTPDIR: "tftp", XCIMG_INSTALLDIR: "" } });
    expect(c.tftpdir).toBe(join(process.cwd(), "tftp"));
    expect(c.installdir).toBe("/install");
  });

  test("bad values are configuration errors naming the variable", () => {
    const err = (env: Record<string, string>) => {
      try {
        loadConfig({ env });
      } catch (e) {
        if (e instanceof ConfigError) return e.message;
        throw e;
      }
      throw new Error("expected a ConfigError");
    };
    expect(err({ XCIMG_SN_MN_PORT: "ssh" })).toBe("XCIMG_SN_MN_PORT must be an integer, not 'ssh'");
    expect(err({ XCIMG_HTTP_PORT: "70000" })).toBe("XCIMG_HTTP_PORT must be a port number between 1 and 65535, not 70000");
  });
});
