/**
 * The node side of `xcimg clone` (clone.sh, POSIX sh, the image's own tools only), carried in
 * each node's overlay as /etc/xcimg/clone/clone.sh and started by xcimg-clone.service.
 * clone.sh is a short main that sources one file per phase from clone.d/; the node gets a
 * single script with each phase inlined (core/script/inline.ts), so the overlay and
 * xcimg-clone.service stay one file.
 */
import { inlineParts } from "../../core/script/inline";
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

export const CLONE_SCRIPT: string = inlineParts(main, PHASES);

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
