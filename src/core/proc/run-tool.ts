import { spawn } from "node:child_process";
import { IOFailure } from "../errors";
import { abortReason } from "../remote/ssh";

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunToolOptions {
  signal?: AbortSignal;
  /** How much stdout is kept (the rest is read and dropped, so the tool never blocks). Default 1 MiB. */
  maxStdout?: number;
  /**
   * What an abort sends. SIGKILL (default) for tools whose partial work the caller removes
   * itself; SIGTERM for rsync, which then deletes its own temporary files.
   */
  killSignal?: NodeJS.Signals;
  /** Each stdout chunk as it arrives (a progress reader), besides what is kept. */
  onStdout?: (chunk: string) => void;
}

/**
 * Run a local tool in the C locale (its messages are parsed), with bounded output, killed
 * when the signal fires. A tool that cannot start is an IOFailure naming it; a non-zero exit
 * is the caller's to judge.
 */
export function runTool(argv: string[], opts: RunToolOptions = {}): Promise<ToolRun> {
  const { signal, maxStdout = 1 << 20, killSignal = "SIGKILL", onStdout } = opts;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      const text = d.toString("utf8");
      if (stdout.length < maxStdout) stdout += text;
      onStdout?.(text);
    });
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 1 << 16) stderr += d.toString("utf8");
    });
    const onAbort = () => child.kill(killSignal);
    signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) => {
      signal?.removeEventListener("abort", onAbort);
      reject(new IOFailure(`cannot run ${argv[0]}: ${e.message}`, { cause: e }));
    });
    child.on("close", (code) => {
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) return reject(abortReason(signal));
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
