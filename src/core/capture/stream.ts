import { spawn, spawnSync } from "node:child_process";
import { CantCreateError, InterruptedError, IOFailure, RemoteError, type XcimgError } from "../errors";
import type { Logger } from "../log";
import { shq } from "../remote/shell";
import { abortReason, type RemoteSession } from "../remote/ssh";
import { formatBytes, Progress } from "./progress";
import { type TarCounts, TarScanner } from "./tar-scan";

/**
 * The one pass that moves the node's files: the node's GNU tar writes a pax archive of the
 * capture root to the SSH channel (no file on the node's disk), and a local GNU tar extracts
 * it into the staging tree. Both sides keep numeric owners, xattrs of every namespace
 * (security.capability, security.selinux), POSIX ACLs, sparse files, hardlinks, devices and
 * FIFOs; node-tar cannot (bun.md §1). --listed-incremental makes the node send only what
 * changed since the snapshot, plus every directory's list of names, which the local tar
 * uses to delete what vanished.
 */
const MARKER = "XCIMG-TAR-STREAM-7f3c9a\n";

/** Options both ends need so nothing of a root filesystem is lost. */
const FIDELITY = ["--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls"];

export interface StreamSpec {
  tarPath: string;
  /** Capture root on the node (binary string). */
  root: string;
  snarPath: string;
  /** Exclude patterns, binary strings, relative to the root ("./tmp/*"). */
  excludes: string[];
}

/** The node-side script: a marker line, then tar's archive on stdout. */
export function remoteTarScript(s: StreamSpec): string {
  const args = [
    "--create",
    "--file=-",
    "--format=posix",
    ...FIDELITY,
    "--sparse",
    "--no-check-device",
    `--listed-incremental=${s.snarPath}`,
    "--warning=no-file-ignored",
    // xCAT exlist semantics: anchored at the root, `*` matches `/` (find -path). Exclude
    // patterns are wildcards by default; --wildcards itself must not be given: with
    // --listed-incremental it makes tar 1.34 drop every directory entry from the archive.
    "--anchored",
    "--wildcards-match-slash",
    ...s.excludes.map((p) => `--exclude=${p}`),
    "-C",
    s.root,
    ".",
  ];
  return `LC_ALL=C; export LC_ALL\nprintf '%s' ${shq(MARKER)}\nexec ${shq(s.tarPath)} ${args.map(shq).join(" ")}\n`;
}

export function localTarArgs(staging: string): string[] {
  return ["--extract", "--file=-", "--listed-incremental=/dev/null", ...FIDELITY, "--same-owner", "--same-permissions", "--warning=no-timestamp", "-C", staging];
}

/** The management node's tar must be GNU tar with xattr and ACL support. */
export function checkLocalTar(): void {
  const r = spawnSync("tar", ["--help"], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  if (r.error || r.status !== 0) throw new CantCreateError("GNU tar is not installed on this management node", { hint: "install it (Debian/RHEL package 'tar')" });
  const missing = ["--xattrs", "--acls", "--listed-incremental"].filter((o) => !r.stdout.includes(o));
  if (missing.length) throw new CantCreateError(`this management node's tar lacks ${missing.join(", ")}`, { hint: "install GNU tar 1.27 or newer" });
}

export interface StreamResult extends TarCounts {
  streamBytes: number;
  seconds: number;
  /** Warnings the node's tar printed (files that changed while being read, …). */
  warnings: string[];
}

export async function streamCapture(
  session: RemoteSession,
  spec: StreamSpec,
  staging: string,
  opts: { signal: AbortSignal; log: Logger; estimate: number | null; label: string },
): Promise<StreamResult> {
  const started = performance.now();
  const remote = await session.exec("/bin/sh -s");
  const local = spawn("tar", localTarArgs(staging), { stdio: ["pipe", "ignore", "pipe"], env: { ...process.env, LC_ALL: "C" } });
  const scanner = new TarScanner();
  const progress = new Progress(opts.log, opts.label, opts.estimate);
  let streamBytes = 0;
  let remoteErr = "";
  let localErr = "";
  let prefix: Buffer | null = Buffer.alloc(0);
  const marker = Buffer.from(MARKER, "latin1");

  return await new Promise<StreamResult>((resolve, reject) => {
    let settled = false;
    let remoteExit: { code: number | null; signal: string | null } | null = null;
    let localExit: { code: number | null } | null = null;
    const timer = setInterval(() => progress.draw(streamBytes), 250);
    const finish = (err: XcimgError | null, value?: StreamResult) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      progress.done();
      opts.signal.removeEventListener("abort", onAbort);
      if (err) {
        remote.kill();
        local.kill("SIGKILL");
        // wait for the local tar to really exit before the caller removes its directory
        if (localExit) reject(err);
        else local.once("close", () => reject(err));
      } else resolve(value as StreamResult);
    };
    const onAbort = () => finish(abortReason(opts.signal));
    if (opts.signal.aborted) return onAbort();
    opts.signal.addEventListener("abort", onAbort, { once: true });

    const ch = remote.channel;
    ch.on("data", (chunk: Buffer) => {
      if (settled) return;
      if (prefix) {
        // a login shell may print something before our command runs: skip to the marker
        const buf = Buffer.concat([prefix, chunk]);
        const at = buf.indexOf(marker);
        if (at < 0) {
          prefix = buf.length > 1 << 20 ? buf.subarray(buf.length - marker.length) : buf;
          return;
        }
        if (at > 0) opts.log.debug(`skipped ${at} bytes the node's login shell printed before the archive`);
        prefix = null;
        chunk = buf.subarray(at + marker.length);
        if (chunk.length === 0) return;
      }
      streamBytes += chunk.length;
      scanner.push(chunk);
      if (!local.stdin.write(chunk)) {
        ch.pause();
        local.stdin.once("drain", () => ch.resume());
      }
    });
    ch.on("end", () => local.stdin.end());
    ch.stderr.on("data", (d: Buffer) => {
      if (remoteErr.length < 1 << 20) remoteErr += d.toString("utf8");
    });
    local.stdin.on("error", () => {
      // EPIPE: the local tar died; its exit status tells why
    });
    local.stderr.on("data", (d: Buffer) => {
      if (localErr.length < 1 << 16) localErr += d.toString("utf8");
    });
    local.on("error", (e) => finish(new CantCreateError(`cannot run tar on this management node: ${e.message}`, { cause: e })));
    ch.end(Buffer.from(remoteTarScript(spec), "latin1"));

    const evaluate = () => {
      if (settled || !remoteExit || !localExit) return;
      // tar's own messages start with "tar: "; anything else came from the login shell
      const lines = tarLines(remoteErr);
      const warnings = lines.filter((l) => TAR_MESSAGE.test(l));
      for (const l of lines) if (!TAR_MESSAGE.test(l)) opts.log.debug(`${session.where}: ${l}`);
      if (remoteExit.code !== 0 && remoteExit.code !== 1) {
        return finish(remoteTarError(remoteExit, warnings.length ? warnings : lines, session.where));
      }
      if (prefix) return finish(new RemoteError(`the node sent no archive${warnings.length ? `: ${warnings.slice(0, 3).join("; ")}` : ""}`));
      if (localExit.code !== 0) return finish(localTarError(localErr, staging));
      if (!scanner.ended && !scanner.broken) return finish(new RemoteError(`the archive from ${session.where} ended early (after ${formatBytes(streamBytes)})`));
      finish(null, { ...scanner.counts(), streamBytes, seconds: (performance.now() - started) / 1000, warnings });
    };
    remote.done.then(
      (r) => {
        remoteExit = r;
        evaluate();
      },
      (e: XcimgError) => finish(e),
    );
    local.on("close", (code) => {
      localExit = { code };
      if (code !== 0 && !settled) {
        // the local side failed first; a full disk is ours to report, anything else may be
        // the symptom of a broken stream, so give the node a moment to explain
        if (/No space left on device|Disk quota exceeded/i.test(localErr)) return finish(localTarError(localErr, staging));
        setTimeout(() => {
          if (!remoteExit && !settled) finish(localTarError(localErr, staging));
        }, 3000).unref?.();
        return;
      }
      evaluate();
    });
  });
}

const TAR_MESSAGE = /^(\S*\/)?tar: /;

function tarLines(stderr: string): string[] {
  return stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

function remoteTarError(exit: { code: number | null; signal: string | null }, lines: string[], where: string): XcimgError {
  const what = exit.code === null ? `was killed (${exit.signal ?? "signal"})` : `failed with exit status ${exit.code}`;
  const detail = lines.slice(0, 5).join("; ");
  if (exit.code === null && exit.signal) return new InterruptedError(`tar on ${where} ${what}`);
  return new IOFailure(`tar on ${where} ${what}${detail ? `: ${detail}` : ""}`, { hint: "nothing was changed; fix the cause on the node and capture again" });
}

function localTarError(stderr: string, staging: string): XcimgError {
  const lines = tarLines(stderr);
  if (lines.some((l) => /No space left on device|Disk quota exceeded/i.test(l))) {
    return new IOFailure(`no space left on device while writing the image under ${staging}`, { hint: "free space under installdir (the previous image was kept) and capture again" });
  }
  return new IOFailure(`extracting the archive into ${staging} failed: ${lines.slice(0, 5).join("; ") || "tar exited with an error"}`);
}
