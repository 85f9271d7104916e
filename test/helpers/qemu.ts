import { appendFileSync } from "node:fs";

/**
 * Boot a qemu VM from the network the way a real node boots: firmware PXE (qemu's iPXE ROM
 * on BIOS, or OVMF's network stack on UEFI) gets DHCP and the boot file from qemu's
 * user-mode network, whose built-in TFTP server serves `tftpdir`. The guest reaches the
 * host's 127.0.0.1 as 10.0.2.2. We read the serial console.
 */
export interface VmOptions {
  tftpdir: string;
  /** DHCP boot file name, relative to tftpdir. */
  bootfile: string;
  mac: string;
  memMiB?: number;
  firmware?: "bios" | "uefi";
  /** Forward host 127.0.0.1:<port> to guest port 22. */
  sshPort?: number;
  /** A raw disk image attached as a virtio disk; with it the firmware tries the network, then the disk. */
  disk?: string;
  /** Let the guest reboot (default: a reboot ends qemu). */
  reboot?: boolean;
  /**
   * A qemu -netdev instead of the user-mode network (e.g. `tap,id=n0,ifname=tap0,script=no,downscript=no`
   * for a real DHCP/TFTP server on a bridge); tftpdir and bootfile are then unused.
   */
  netdev?: string;
  /** Words run before qemu, e.g. ["ip", "netns", "exec", "ns"] to open a tap inside a namespace. */
  prefix?: string[];
  /**
   * UEFI with Secure Boot enforced: OVMF's secboot build (SMM required) with this writable copy
   * of a variable store (OVMF_VARS_4M.ms.fd: Microsoft's keys enrolled, Secure Boot on), and
   * OVMF's own network driver instead of the NIC's unsigned iPXE option ROM.
   */
  secureBootVars?: string;
  /**
   * false: the NIC without qemu's iPXE option ROM, so the firmware's own PXE client (OVMF's
   * network stack) does the first DHCP, as on hardware whose NIC ROM is plain PXE.
   */
  nicRom?: false;
}

export interface VmResult {
  console: string;
  match: RegExpMatchArray | null;
  seconds: number;
  /** How qemu ended, for a failing test to print: still running, or its exit code and stderr. */
  exit: string;
}

export const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd";
export const OVMF_SECBOOT_CODE = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
export const OVMF_MS_VARS = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";

export class Vm {
  private text = "";
  private readonly started = performance.now();
  private readonly proc: ReturnType<typeof Bun.spawn>;
  private readonly reading: Promise<void>;
  private wake: (() => void) | null = null;

  constructor(o: VmOptions) {
    let netdev = o.netdev ?? `user,id=n0,tftp=${o.tftpdir},bootfile=${o.bootfile}`;
    if (o.sshPort) netdev += `,hostfwd=tcp:127.0.0.1:${o.sshPort}-:22`;
    const argv = [...(o.prefix ?? []), "qemu-system-x86_64", "-accel", "tcg", "-m", String(o.memMiB ?? 1024), "-smp", "1", "-netdev", netdev];
    // network first, then the disk: bootindex is what both SeaBIOS and OVMF follow
    const rom = o.secureBootVars || o.nicRom === false ? ",romfile=" : "";
    argv.push("-device", `virtio-net-pci,netdev=n0,mac=${o.mac},bootindex=1${rom}`, "-display", "none", "-serial", "stdio", "-monitor", "none");
    if (!o.disk) argv.push("-boot", "n");
    if (!o.reboot) argv.push("-no-reboot");
    if (o.disk) argv.push("-drive", `file=${o.disk},if=none,id=d0,format=raw`, "-device", "virtio-blk-pci,drive=d0,bootindex=2");
    if (o.secureBootVars) {
      argv.push("-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on");
      argv.push(
        "-drive",
        `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_SECBOOT_CODE}`,
        "-drive",
        `if=pflash,format=raw,unit=1,file=${o.secureBootVars}`,
      );
    } else if (o.firmware === "uefi") argv.push("-drive", `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`);
    const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    this.proc = proc;
    const decoder = new TextDecoder();
    this.reading = (async () => {
      // XCIMG_VM_CONSOLE=<file>: the console also goes there as it comes (debugging a stuck boot)
      const tee = process.env.XCIMG_VM_CONSOLE;
      for await (const chunk of proc.stdout) {
        this.text += decoder.decode(chunk, { stream: true });
        if (tee) appendFileSync(tee, chunk);
        this.wake?.();
      }
      this.wake?.();
    })();
  }

  get console(): string {
    return this.text;
  }

  /** qemu's exit code and stderr once it has ended (a reboot under -no-reboot, a crash). */
  async exitState(): Promise<string> {
    if (this.proc.exitCode === null) return "qemu still running";
    const err = this.proc.stderr instanceof ReadableStream ? await new Response(this.proc.stderr).text() : "";
    return `qemu exited with ${this.proc.exitCode} after ${this.seconds.toFixed(0)} s${err.trim() ? `: ${err.trim()}` : ""}`;
  }

  get seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Wait until the console matches `re` (searching only output after `from`), or time out with null. */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray | null> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const m = this.text.slice(from).match(re);
      if (m) return m;
      if (this.proc.exitCode !== null || performance.now() > deadline) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 250);
      });
    }
  }

  async stop(): Promise<void> {
    this.proc.kill();
    await this.proc.exited;
    await this.reading.catch(() => {});
  }
}

/** Boot, read the console until `until` matches (or `timeoutMs`), power off. */
export async function bootVm(o: VmOptions & { until: RegExp; timeoutMs: number }): Promise<VmResult> {
  const vm = new Vm(o);
  try {
    const match = await vm.waitFor(o.until, o.timeoutMs);
    return { console: vm.console, match, seconds: vm.seconds, exit: await vm.exitState() };
  } finally {
    await vm.stop();
  }
}
