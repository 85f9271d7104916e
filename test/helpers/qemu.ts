import { existsSync } from "node:fs";

/**
 * Boot a qemu VM from the network the way a real node boots: firmware PXE (qemu's iPXE ROM
 * on BIOS, or OVMF's network stack on UEFI) gets DHCP and the boot file from qemu's
 * user-mode network, whose built-in TFTP server serves `tftpdir`. The guest reaches the
 * host's 127.0.0.1 as 10.0.2.2. We read the serial console until `until` matches.
 */
export interface VmOptions {
  tftpdir: string;
  /** DHCP boot file name, relative to tftpdir. */
  bootfile: string;
  mac: string;
  until: RegExp;
  timeoutMs: number;
  memMiB?: number;
  firmware?: "bios" | "uefi";
  /** Forward host 127.0.0.1:<port> to guest port 22. */
  sshPort?: number;
}

export interface VmResult {
  console: string;
  match: RegExpMatchArray | null;
  seconds: number;
}

export const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd";
export const haveQemu = () => existsSync("/usr/bin/qemu-system-x86_64");

export async function bootVm(o: VmOptions): Promise<VmResult> {
  const started = performance.now();
  let netdev = `user,id=n0,tftp=${o.tftpdir},bootfile=${o.bootfile}`;
  if (o.sshPort) netdev += `,hostfwd=tcp:127.0.0.1:${o.sshPort}-:22`;
  const argv = [
    "qemu-system-x86_64",
    "-accel",
    "tcg",
    "-m",
    String(o.memMiB ?? 1024),
    "-smp",
    "1",
    "-boot",
    "n",
    "-netdev",
    netdev,
    "-device",
    `virtio-net-pci,netdev=n0,mac=${o.mac}`,
    "-display",
    "none",
    "-serial",
    "stdio",
    "-monitor",
    "none",
    "-no-reboot",
  ];
  if (o.firmware === "uefi") argv.push("-drive", `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`);
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let text = "";
  let match: RegExpMatchArray | null = null;
  const timer = setTimeout(() => proc.kill(), o.timeoutMs);
  const decoder = new TextDecoder();
  try {
    for await (const chunk of proc.stdout) {
      text += decoder.decode(chunk, { stream: true });
      match = text.match(o.until);
      if (match) break;
    }
  } finally {
    clearTimeout(timer);
    proc.kill();
    await proc.exited;
  }
  if (!match && proc.exitCode !== null && proc.exitCode !== 0 && !text) text = await new Response(proc.stderr).text();
  return { console: text, match, seconds: (performance.now() - started) / 1000 };
}
