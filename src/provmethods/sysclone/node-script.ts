/**
 * The node side of `xcimg clone` (clone.sh, POSIX sh, the image's own tools only), carried in
 * each node's overlay as /etc/xcimg/clone/clone.sh and started by xcimg-clone.service.
 */
import script from "./clone.sh" with { type: "text" };

export const CLONE_SCRIPT: string = script;

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
