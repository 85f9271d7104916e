import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { IOFailure } from "../errors";
import type { Logger } from "../log";
import { abortReason } from "../remote/ssh";

/**
 * Every step that touches a tree being built (bootstrap, package transactions, postinstall)
 * runs in its own mount and PID namespace:
 *   setpriv --pdeathsig KILL   the namespace's first process dies when xcimg does (kill -9 too)
 *   unshare --mount --propagation private   mounts made inside (proc, sys, dev, the package
 *                              cache, resolv.conf) are invisible to the MN and vanish with it
 *   unshare --pid --fork --kill-child       its shell is PID 1 of a new PID namespace: when it
 *                              dies, the kernel kills every process left in it (a package's
 *                              daemon started by a maintainer script included), and with the
 *                              last process the mount namespace and all its mounts are gone
 *   --mount-proc               the tools see only the namespace's processes
 * So no mount survives success, failure, Ctrl-C or kill -9, and a staging tree can always be
 * removed afterwards without descending into /dev or the cache through a bind mount.
 */
export interface IsolatedRun {
  code: number;
  /** The last lines of output, for the error message. */
  tail: string[];
  stdout: string;
}

const TAIL = 30;

export function runIsolated(
  script: string,
  opts: { env?: Record<string, string>; log: Logger; signal: AbortSignal; label: string; keepStdout?: boolean },
): Promise<IsolatedRun> {
  const argv = [
    "setpriv",
    "--pdeathsig",
    "KILL",
    "--",
    "unshare",
    "--mount",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount-proc",
    "--propagation",
    "private",
    "--",
    "/bin/sh",
    "-ec",
    script,
    "xcimg-genimage",
  ];
  return new Promise((resolve, reject) => {
    if (opts.signal.aborted) return reject(abortReason(opts.signal));
    const child = spawn(argv[0] as string, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C.UTF-8", HOME: "/root", DEBIAN_FRONTEND: "noninteractive", ...opts.env },
    });
    const tail: string[] = [];
    let stdout = "";
    const take = (stream: "out" | "err") => (d: Buffer) => {
      const text = d.toString("utf8");
      if (stream === "out" && opts.keepStdout && stdout.length < 1 << 22) stdout += text;
      for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > TAIL) tail.shift();
        if (!(stream === "out" && opts.keepStdout)) opts.log.debug(`${opts.label}: ${line}`);
      }
    };
    child.stdout.on("data", take("out"));
    child.stderr.on("data", take("err"));
    const onAbort = () => child.kill("SIGKILL");
    opts.signal.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) => {
      opts.signal.removeEventListener("abort", onAbort);
      reject(
        new IOFailure(`cannot start ${opts.label} in a private namespace: ${e.message}`, {
          cause: e,
          hint: "genimage needs util-linux's setpriv and unshare, and root",
        }),
      );
    });
    child.on("close", (code) => {
      opts.signal.removeEventListener("abort", onAbort);
      if (opts.signal.aborted) return reject(abortReason(opts.signal));
      resolve({ code: code ?? 1, tail, stdout });
    });
  });
}

/** Shell quoting for values put into the step scripts. */
export function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Shell lines that make a tree usable as a chroot inside the namespace (xCAT's genimage
 * mount_chroot does the same on the MN itself, where a crash leaves the mounts behind).
 */
export function mountTreeLines(tree: string): string[] {
  const t = sq(tree);
  return [
    `for d in proc sys dev run tmp; do mkdir -p ${t}/$d; done`,
    `mount -t proc proc ${t}/proc`,
    `mount -t sysfs sysfs ${t}/sys`,
    `mount --rbind /dev ${t}/dev`,
    `mount -t tmpfs -o mode=0755 tmpfs ${t}/run`,
  ];
}

/** Mount points of the MN's namespace at or below `dir` (must be none before a staging tree is removed). */
export function mountsBelow(dir: string): string[] {
  let text = "";
  try {
    text = readFileSync("/proc/self/mounts", "utf8");
  } catch {
    return [];
  }
  const d = dir.replace(/\/+$/, "");
  return text
    .split("\n")
    .map((l) => (l.split(" ")[1] ?? "").replace(/\\040/g, " "))
    .filter((m) => m === d || m.startsWith(`${d}/`));
}

const DISK_FULL = /No space left on device|ENOSPC|Disk Requirements|more space needed|not enough (free )?(disk )?space|disk is full/i;

/** A step that failed: its error lines, and a full disk said as such (where, and what to do). */
export function stepFailed(what: string, tail: string[], dir?: string): IOFailure {
  const errors = tail.filter((l) => (/^(E:|W:|error|Error|dpkg:)/.test(l) || DISK_FULL.test(l)) && !/^(E:|W:|error|Error|dpkg):?\s*$/.test(l)).slice(-4);
  const detail = (errors.length ? errors : tail.slice(-4)).join(" | ");
  if (dir && tail.some((l) => DISK_FULL.test(l))) {
    return new IOFailure(`${what} failed: the filesystem holding ${dir} is full (${detail})`, {
      hint: `free space there (df -h ${dir}), then rerun; the previous image is unchanged`,
    });
  }
  return new IOFailure(`${what} failed: ${detail}`, { hint: "rerun with -v for its whole output; the previous image is unchanged" });
}
