import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generations } from "../../src/core/boot/generations";
import { BIN, type Sandbox } from "./sandbox";
import type { Sshd } from "./sshd";

/**
 * Point a service node's sandbox at its management node behind `sshd` (a real sshd on
 * 127.0.0.1 whose sessions run the compiled xcimg): the [ssh] key and the [sn] settings
 * every `sn sync` test needs, and optionally the SN's own address (`master`).
 */
export function pointSnAtMn(sn: Sandbox, sshd: Sshd, opts: { name?: string; master?: string } = {}): void {
  let toml = readFileSync(sn.config, "utf8");
  if (opts.master) toml = toml.replace('master = "10.0.2.2"', `master = "${opts.master}"`);
  const lines = [
    "[ssh]",
    `identity = "${sshd.clientKey}"`,
    "[sn]",
    'mn = "127.0.0.1"',
    `mn_port = ${sshd.port}`,
    `known_hosts = "${sshd.knownHosts}"`,
    `name = "${opts.name ?? "sn1"}"`,
    `remote_xcimg = "${BIN}"`,
  ];
  writeFileSync(sn.config, `${toml}\n${lines.join("\n")}\n`);
}

/**
 * Where an SN serves an image's boot files: `sn sync` publishes them into generation directories
 * (src/core/boot/generations.ts), so the current one, relative to the TFTP root.
 */
export function servedBootDir(sb: Sandbox, image: string): string {
  const current = generations(join(sb.tftpdir, "xcat", "osimage", image))[0];
  if (!current) throw new Error(`no generation of ${image}'s boot files under ${sb.tftpdir}`);
  return `xcat/osimage/${image}/${current.name}`;
}
