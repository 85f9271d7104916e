import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./sandbox";
import { freePort } from "./sshd";

/**
 * The golden Debian 12 VM (scripts/golden-vm.sh) booted in qemu: TCG (KVM hangs on these
 * machines), -snapshot so the disk image is never written, user-mode networking with the
 * guest's SSH forwarded to 127.0.0.1:<port>. Nothing leaves the qemu process.
 */
export const GOLDEN = join(ROOT, ".cache", "golden");

export interface GoldenInfo {
  kernelVersion: string;
  rootUuid: string;
  swapUuid: string;
  espUuid: string;
  cmdline: string;
}

/** Build the disk image if it is missing (minutes the first time, cached after). */
export function ensureGoldenDisk(): GoldenInfo {
  if (!existsSync(join(GOLDEN, "disk.img")) || !existsSync(join(GOLDEN, "golden.json"))) {
    const r = Bun.spawnSync(["bash", join(ROOT, "scripts/golden-vm.sh")], { stdout: "inherit", stderr: "inherit" });
    if (r.exitCode !== 0) throw new Error("scripts/golden-vm.sh failed");
  }
  return JSON.parse(readFileSync(join(GOLDEN, "golden.json"), "utf8")) as GoldenInfo;
}

export class GoldenVm {
  readonly key = join(GOLDEN, "id_ed25519");
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly proc: ReturnType<typeof Bun.spawn>,
    readonly info: GoldenInfo,
  ) {}

  get serialLog(): string {
    try {
      return readFileSync(join(this.dir, "serial.log"), "utf8");
    } catch {
      return "";
    }
  }

  static async boot(): Promise<GoldenVm> {
    const info = ensureGoldenDisk();
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "xcimg-golden-vm-"));
    const proc = Bun.spawn(
      [
        "qemu-system-x86_64",
        "-accel",
        "tcg",
        // TCG's default qemu64 CPU has no AES-NI: the guest's sshd would encrypt in software
        "-cpu",
        "max",
        "-m",
        "1024",
        "-smp",
        "2",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        `file:${join(dir, "serial.log")}`,
        "-no-reboot",
        "-kernel",
        join(GOLDEN, "vmlinuz"),
        "-initrd",
        join(GOLDEN, "initrd.img"),
        "-append",
        `${info.cmdline} panic=-1`,
        "-drive",
        `file=${join(GOLDEN, "disk.img")},if=virtio,format=raw,snapshot=on`,
        "-netdev",
        `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`,
        "-device",
        "virtio-net-pci,netdev=n0",
      ],
      { stdout: "ignore", stderr: "pipe" },
    );
    const vm = new GoldenVm(port, dir, proc, info);
    await vm.waitForSsh(240_000);
    return vm;
  }

  /** qemu accepts the forwarded port at once; wait for sshd's banner from the guest. */
  private async waitForSsh(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`qemu exited (${this.proc.exitCode}); serial log:\n${this.serialLog.slice(-3000)}`);
      if (await sshBanner(this.port)) return;
      await Bun.sleep(1000);
    }
    throw new Error(`the golden VM did not answer SSH within ${timeoutMs / 1000} s; serial log:\n${this.serialLog.slice(-3000)}`);
  }

  async stop(): Promise<void> {
    this.proc.kill("SIGTERM");
    await this.proc.exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function sshBanner(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean) => {
      if (!done) {
        done = true;
        resolve(ok);
      }
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(sock, data) {
          finish(Buffer.from(data).toString("latin1").startsWith("SSH-"));
          sock.end();
        },
        close: () => finish(false),
        error: () => finish(false),
        connectError: () => finish(false),
      },
    }).catch(() => finish(false));
    setTimeout(() => finish(false), 3000);
  });
}
