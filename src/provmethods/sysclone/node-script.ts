/**
 * The node side of `xcimg clone` (clone.sh, POSIX sh, the image's own tools only), carried in
 * each node's overlay as /etc/xcimg/clone/clone.sh and started by xcimg-clone.service.
 * clone.sh is a short main that sources one file per phase from clone.d/; the node gets a
 * single script with each phase inlined at its `. "$XC_SRC/<phase>.sh"` line, so the overlay
 * and xcimg-clone.service stay one file.
 */
import check from "./clone.d/check.sh" with { type: "text" };
import common from "./clone.d/common.sh" with { type: "text" };
import configure from "./clone.d/configure.sh" with { type: "text" };
import copy from "./clone.d/copy.sh" with { type: "text" };
import finish from "./clone.d/finish.sh" with { type: "text" };
import http from "./clone.d/http.sh" with { type: "text" };
import partition from "./clone.d/partition.sh" with { type: "text" };
import main from "./clone.sh" with { type: "text" };

const PHASES: Record<string, string> = {
  "check.sh": check,
  "common.sh": common,
  "configure.sh": configure,
  "copy.sh": copy,
  "finish.sh": finish,
  "http.sh": http,
  "partition.sh": partition,
};

/** `main` with each `. "$XC_SRC/x.sh"` line replaced by x.sh; every phase must be used once. */
export function inlinePhases(main: string, phases: Record<string, string>): string {
  const used = new Set<string>();
  const out = main.replace(/^\. "\$XC_SRC\/([a-z-]+\.sh)"$/gm, (_line, name: string) => {
    const text = phases[name];
    if (text === undefined || used.has(name)) throw new Error(`internal: clone.sh sources ${name}, which is not one phase of clone.d/`);
    used.add(name);
    return text.replace(/^# shellcheck shell=sh.*\n/, "").replace(/\n$/, "");
  });
  const unused = Object.keys(phases).filter((n) => !used.has(n));
  if (unused.length) throw new Error(`internal: clone.sh does not source ${unused.join(", ")}`);
  return out;
}

export const CLONE_SCRIPT: string = inlinePhases(main, PHASES);

/** What the clone environment boots into instead of the image's default target. */
export const CLONE_TARGET = `# written by xcimg clone: the diskless environment that writes this node's disk
[Unit]
Description=xcimg clone environment
Requires=basic.target
Wants=xcimg-clone.service systemd-networkd.service NetworkManager.service ssh.service sshd.service
After=basic.target
AllowIsolate=yes
`;

export const CLONE_SERVICE = `# written by xcimg clone
[Unit]
Description=xcimg clone: write the image to this node's disk
After=basic.target network.target systemd-networkd.service NetworkManager.service ssh.service sshd.service

[Service]
Type=simple
ExecStart=/bin/sh /etc/xcimg/clone/clone.sh
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity
`;

/** Kernel arguments of the clone environment (after xCAT's own keys). */
export function cloneKernelArgs(job: string): string {
  return `xcimg.clone=${job} systemd.unit=xcimg-clone.target selinux=0`;
}
