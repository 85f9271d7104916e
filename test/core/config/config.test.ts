import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/core/config/load";
import { ConfigError } from "../../../src/core/errors";

const dir = mkdtempSync(join(tmpdir(), "xcimg-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function errorOf(file: string): ConfigError {
  try {
    loadConfig({ file, env: {} });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  test("built-in defaults when no file is given", () => {
    const c = loadConfig({ env: { HOME: "/home/admin" } });
    // /etc/xcimg/xcimg.toml does not exist on test machines
    expect(c.source).toBeNull();
    expect(c.installdir).toBe("/install");
    expect(c.tftpdir).toBe("/tftpboot");
    expect(c["db.path"]).toBe("/var/lib/xcimg/xcimg.db");
    expect(c["ssh.identity"]).toBe("/home/admin/.ssh/id_ed25519");
    expect(c["ssh.port"]).toBe(22);
    expect(c["http.port"]).toBe(80);
  });

  test("values from the file; ~ expanded; relative paths anchored at the file", () => {
    const f = write("ok.toml", `installdir = "inst"\nmaster = "10.1.0.1"\n[ssh]\nidentity = "~/keys/id"\nport = 2222\n[db]\npath = "/srv/x.db"\n`);
    const c = loadConfig({ file: f, env: { HOME: "/root" } });
    expect(c.installdir).toBe(join(dir, "inst"));
    expect(c.master).toBe("10.1.0.1");
    expect(c["ssh.identity"]).toBe("/root/keys/id");
    expect(c["ssh.port"]).toBe(2222);
    expect(c["db.path"]).toBe("/srv/x.db");
    expect(c.source).toBe(f);
  });

  test("XCIMG_CONFIG is used when --config is absent; --config wins", () => {
    const a = write("a.toml", `master = "1.1.1.1"\n`);
    const b = write("b.toml", `master = "2.2.2.2"\n`);
    expect(loadConfig({ env: { XCIMG_CONFIG: a } }).master).toBe("1.1.1.1");
    expect(loadConfig({ file: b, env: { XCIMG_CONFIG: a } }).master).toBe("2.2.2.2");
  });

  test("unknown top-level key: file:line:col", () => {
    const f = write("unk.toml", `installdir = "/install"\n\ninstalldri = "/x"\n`);
    expect(errorOf(f).message).toBe(`${f}:3:1: unknown key 'installdri'`);
  });

  test("unknown key inside a table points at the key", () => {
    const f = write("unk2.toml", `[ssh]\nuser = "root"\n  prot = 22\n`);
    expect(errorOf(f).message).toBe(`${f}:3:3: unknown key 'ssh.prot'`);
  });

  test("unknown table", () => {
    const f = write("unk3.toml", `master = "x"\n[sshd]\nport = 1\n`);
    expect(errorOf(f).message).toBe(`${f}:2:1: unknown key 'sshd'`);
  });

  test("wrong type names key, position and the expected type", () => {
    const f = write("type.toml", `[http]\nport = "eighty"\n`);
    expect(errorOf(f).message).toBe(`${f}:2:1: http.port must be an integer, not the string "eighty"`);
    const g = write("type2.toml", `installdir = 5\n`);
    expect(errorOf(g).message).toBe(`${g}:1:1: installdir must be a string, not number 5`);
    const h = write("type3.toml", `[ssh]\nport = 70000\n`);
    expect(errorOf(h).message).toContain(`${h}:2:1: ssh.port must be a port number`);
  });

  test("dotted keys and inline tables are located too", () => {
    const f = write("dotted.toml", `master = "x"\nssh.port = "22"\n`);
    expect(errorOf(f).message).toBe(`${f}:2:1: ssh.port must be an integer, not the string "22"`);
    const g = write("inline.toml", `ssh = { user = "root", port = "22" }\n`);
    expect(errorOf(g).message).toBe(`${g}:1:24: ssh.port must be an integer, not the string "22"`);
  });

  test("syntax errors carry the parser's line and column", () => {
    const f = write("syntax.toml", `master = "x"\n[ssh]\nport = "unterminated\n`);
    const e = errorOf(f);
    expect(e.message).toStartWith(`${f}:3:`);
    expect(e.message).toContain("Unterminated string");
    expect(e.exitCode).toBe(78);
  });

  test("a missing --config file is a config error", () => {
    expect(() => loadConfig({ file: join(dir, "nope.toml"), env: {} })).toThrow(ConfigError);
  });
});
