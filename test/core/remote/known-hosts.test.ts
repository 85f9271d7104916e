import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  appendKnownHost,
  fingerprint,
  hashHostName,
  hostKeyAlgorithms,
  hostKeyName,
  hostsMatch,
  keyType,
  parseKnownHosts,
  readKnownHosts,
  verifyHostKey,
} from "../../../src/core/remote/known-hosts";

/** Our known_hosts reader/writer against real ssh-keygen keys and ssh-keygen's own view of the file. */
const dir = mkdtempSync(join(tmpdir(), "xcimg-kh-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function key(type: string, name: string): { line: string; blob: Buffer; fp: string } {
  const path = join(dir, name);
  const args = ["ssh-keygen", "-q", "-t", type, "-N", "", "-f", path];
  if (type === "ecdsa") args.push("-b", "384");
  Bun.spawnSync(args);
  const line = readFileSync(`${path}.pub`, "utf8").trim();
  const fp = Bun.spawnSync(["ssh-keygen", "-l", "-E", "sha256", "-f", `${path}.pub`])
    .stdout.toString()
    .split(" ")[1] as string;
  return { line, blob: Buffer.from(line.split(" ")[1] as string, "base64"), fp };
}

const ed = key("ed25519", "ed");
const ed2 = key("ed25519", "ed2");
const rsa = key("rsa", "rsa");
const ec = key("ecdsa", "ec");
const kt = (k: { line: string }) => k.line.split(" ").slice(0, 2).join(" ");

describe("known_hosts", () => {
  test("fingerprints are exactly what ssh-keygen -l prints", () => {
    for (const k of [ed, rsa, ec]) expect(fingerprint(k.blob)).toBe(k.fp);
    expect(keyType(ec.blob)).toBe("ecdsa-sha2-nistp384");
  });

  test("plain, [host]:port, wildcard, negated and hashed host fields", () => {
    expect(hostKeyName("node1", 22)).toBe("node1");
    expect(hostKeyName("10.0.0.5", 2222)).toBe("[10.0.0.5]:2222");
    expect(hostsMatch("node1,10.0.0.1", "10.0.0.1")).toBe(true);
    expect(hostsMatch("node1", "node10")).toBe(false);
    expect(hostsMatch("[10.0.0.5]:2222", "[10.0.0.5]:2222")).toBe(true);
    expect(hostsMatch("[10.0.0.5]:2222", "10.0.0.5")).toBe(false);
    expect(hostsMatch("cn*.cluster,!cn13.cluster", "cn12.cluster")).toBe(true);
    expect(hostsMatch("cn*.cluster,!cn13.cluster", "cn13.cluster")).toBe(false);
    expect(hostsMatch("cn?", "CN1")).toBe(true);
    const hashed = hashHostName("[127.0.0.1]:2200");
    expect(hostsMatch(hashed, "[127.0.0.1]:2200")).toBe(true);
    expect(hostsMatch(hashed, "127.0.0.1")).toBe(false);
  });

  test("hashed entries written by ssh-keygen -H are matched", () => {
    const f = join(dir, "hashed");
    writeFileSync(f, `golden01,10.1.0.1 ${kt(ed)}\n[golden02]:2222 ${kt(rsa)}\n`);
    const r = Bun.spawnSync(["ssh-keygen", "-H", "-f", f], { stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    const text = readFileSync(f, "utf8");
    expect(text).not.toContain("golden01");
    const entries = readKnownHosts(f);
    expect(verifyHostKey(entries, ["golden01"], ed.blob).status).toBe("ok");
    expect(verifyHostKey(entries, ["10.1.0.1"], ed.blob).status).toBe("ok");
    expect(verifyHostKey(entries, ["[golden02]:2222"], rsa.blob).status).toBe("ok");
    expect(verifyHostKey(entries, ["golden02"], rsa.blob).status).toBe("unknown");
  });

  test("a different key of the same type is a change; other types known leave the host unknown", () => {
    const entries = parseKnownHosts(`# comment\n\ngolden01 ${kt(ed)}\ngolden01 ${kt(rsa)}\nother ${kt(ec)}\n`, "/kh");
    const changed = verifyHostKey(entries, ["golden01"], ed2.blob);
    expect(changed.status).toBe("changed");
    if (changed.status === "changed") expect(changed.entry.line).toBe(3);
    const unknown = verifyHostKey(entries, ["golden01"], ec.blob);
    expect(unknown).toEqual({ status: "unknown", otherTypes: ["ssh-ed25519", "ssh-rsa"] });
    expect(verifyHostKey(entries, ["nobody"], ed.blob)).toEqual({ status: "unknown", otherTypes: [] });
    // the types we know for the host are offered first, as OpenSSH orders them
    expect(hostKeyAlgorithms(entries, ["other"]).slice(0, 1)).toEqual(["ecdsa-sha2-nistp384"]);
    expect(hostKeyAlgorithms(entries, ["golden01"]).slice(0, 4)).toEqual(["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
  });

  test("@revoked wins, @cert-authority lines are not host keys, malformed lines are skipped", () => {
    const entries = parseKnownHosts(`@revoked * ${kt(ed)}\n@cert-authority *.cluster ${kt(rsa)}\ngarbage\nx ssh-ed25519 !!!\ngolden01 ${kt(ed)}\n`);
    expect(entries.length).toBe(3);
    expect(verifyHostKey(entries, ["golden01"], ed.blob).status).toBe("revoked");
    expect(verifyHostKey(entries, ["a.cluster"], rsa.blob).status).toBe("unknown");
  });

  test("appended entries are found by ssh-keygen -F, after a file without a final newline", () => {
    const f = join(dir, "sub", "known_hosts");
    appendKnownHost(f, ["golden01", "[127.0.0.1]:2201"], ed.blob);
    writeFileSync(f, readFileSync(f, "utf8").trimEnd()); // no newline at the end
    appendKnownHost(f, ["golden02"], rsa.blob);
    for (const name of ["golden01", "[127.0.0.1]:2201", "golden02"]) {
      const r = Bun.spawnSync(["ssh-keygen", "-F", name, "-f", f]);
      expect(r.exitCode).toBe(0);
    }
    expect(readFileSync(f, "utf8").split("\n").filter(Boolean).length).toBe(2);
  });
});
