import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { CantCreateError, InterruptedError, IOFailure, RemoteError, type XcimgError } from "../errors";
import type { Logger } from "../log";
import { shq } from "../remote/shell";
import { abortReason, type RemoteSession } from "../remote/ssh";
import { formatBytes, Progress } from "./progress";
import { type TarCounts, TarScanner } from "./tar-scan";

/**
 * The one pass that moves the node's files: the node's GNU tar writes a pax archive of the
 * capture root to the SSH channel (nothing is written to the node's disks), and a local GNU
 * tar extracts it into the new tree. Both keep numeric owners, xattrs of every namespace
 * (security.capability, security.selinux), POSIX ACLs, sparse files, hardlinks, devices and
 * FIFOs, which node-tar cannot (bun.md §1).
 *
 * One exec does it all, because every round trip costs a login shell on the node: stdin
 * brings the previous snapshot (for --listed-incremental: send only what changed since, plus
 * every directory's list of names, which the local tar uses to delete what vanished) and the
 * exclude patterns, one per line; stdout carries a marker
 * then the archive; after tar, stderr carries the new snapshot behind a marker of its own.
 */
const FIDELITY = ["--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls"];

export interface StreamSpec {
  tarPath: string;
  /** Capture root on the node (binary string). */
  root: string;
  /** Scratch directory on the node's tmpfs (from the probe). */
  tmpdir: string;
  /** Snapshot of the tree being brought up to date; null for a full capture. */
  snar: Buffer | null;
  /** Exclude patterns, binary strings, anchored at the root ("./tmp/*"). */
  excludes: string[];
}

/**
 * A binary string as a sh word followed by an "x" (strip it with ${v%x}; it protects trailing
 * newlines from $(...)): quoted if printable ASCII, else rebuilt by printf from octal escapes.
 */
function shBytes(s: string): string {
  if (/^[\x20-\x7e]*$/.test(s)) return shq(`${s}x`);
  const oct = [...s].map((c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`).join("");
  return `"$(printf '${oct}x')"`;
}

export function remoteScript(s: StreamSpec, markers: { stream: string; snar: string }): string {
  const args = [
    "--create",
    "--file=-",
    "--format=posix",
    ...FIDELITY,
    "--sparse",
    "--no-check-device",
    "--warning=no-file-ignored",
    // xCAT exlist semantics: anchored at the root, `*` matches `/` (find -path). Exclude
    // patterns are wildcards by default; --wildcards itself must not be given: with
    // --listed-incremental it makes tar 1.34 drop every directory entry from the archive.
    "--anchored",
    "--wildcards-match-slash",
  ].map(shq);
  return [
    "umask 077",
    `d=${shBytes(s.tmpdir)}; d=\${d%x}`,
    `root=${shBytes(s.root)}; root=\${root%x}`,
    `tar=${shBytes(s.tarPath)}; tar=\${tar%x}`,
    s.snar ? `head -c ${s.snar.length} > "$d/snar" || exit 96` : `rm -f "$d/snar"`,
    `cat > "$d/exclude" || exit 96`,
    `printf '%s' ${shq(markers.stream)}`,
    `LC_ALL=C "$tar" ${args.join(" ")} --listed-incremental="$d/snar" --exclude-from="$d/exclude" -C "$root" .`,
    "rc=$?",
    `printf '\\n%s\\n' ${shq(markers.snar)} >&2`,
    `cat "$d/snar" >&2`,
    `rm -rf "$d" 2>/dev/null`,
    "exit $rc",
  ].join("\n");
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
  /** The node's snapshot after this capture, for the next one. */
  snar: Buffer;
  /** Non-directory members of the archive (binary strings), when asked for. */
  names: string[] | null;
}

const TAR_MESSAGE = /^(\S*\/)?tar: /;

export async function streamCapture(
  session: RemoteSession,
  spec: StreamSpec,
  target: string,
  opts: { signal: AbortSignal; log: Logger; estimate: number | null; label: string; names: boolean },
): Promise<StreamResult> {
  const started = performance.now();
  const nonce = randomBytes(6).toString("hex");
  const markers = { stream: `XCIMG-TAR-STREAM-${nonce}\n`, snar: `XCIMG-SNAR-${nonce}` };
  const remote = await session.exec(Buffer.from(`/bin/sh -c ${shq(remoteScript(spec, markers))}`, "latin1"));
  const local = spawn("tar", localTarArgs(target), { stdio: ["pipe", "ignore", "pipe"], env: { ...process.env, LC_ALL: "C" } });
  const scanner = new TarScanner({ names: opts.names });
  const progress = new Progress(opts.log, opts.label, opts.estimate);
  const marker = Buffer.from(markers.stream, "latin1");
  let streamBytes = 0;
  const remoteErr: Buffer[] = [];
  let localErr = "";
  let prefix: Buffer | null = Buffer.alloc(0);

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
        // wait for the local tar to exit before the caller removes its directory
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
    ch.stderr.on("data", (d: Buffer) => remoteErr.push(d));
    local.stdin.on("error", () => {
      // EPIPE: the local tar died; its exit status tells why
    });
    local.stderr.on("data", (d: Buffer) => {
      if (localErr.length < 1 << 16) localErr += d.toString("utf8");
    });
    local.on("error", (e) => finish(new CantCreateError(`cannot run tar on this management node: ${e.message}`, { cause: e })));
    ch.write(spec.snar ?? Buffer.alloc(0));
    // one per line (tar 1.34 ignores --null for --exclude-from); `?` stands for a newline
    ch.end(Buffer.concat(spec.excludes.map((p) => Buffer.from(`${p.replace(/\n/g, "?")}\n`, "latin1"))));

    const evaluate = () => {
      if (settled || !remoteExit || !localExit) return;
      const { text, snar } = splitStderr(Buffer.concat(remoteErr), markers.snar);
      // tar's own messages start with "tar: "; anything else came from the login shell
      const lines = tarLines(text);
      const warnings = lines.filter((l) => TAR_MESSAGE.test(l));
      for (const l of lines) if (!TAR_MESSAGE.test(l)) opts.log.debug(`${session.where}: ${l}`);
      if (remoteExit.code === 96) return finish(new RemoteError(`cannot write to ${spec.tmpdir} on ${session.where}: ${lines.slice(0, 3).join("; ")}`));
      if (remoteExit.code !== 0 && remoteExit.code !== 1) return finish(remoteTarError(remoteExit, warnings.length ? warnings : lines, session.where));
      if (prefix) return finish(new RemoteError(`${session.where} sent no archive${lines.length ? `: ${lines.slice(0, 3).join("; ")}` : ""}`));
      if (localExit.code !== 0) return finish(localTarError(localErr, target));
      if (!scanner.ended && !scanner.broken) return finish(new RemoteError(`the archive from ${session.where} ended early (after ${formatBytes(streamBytes)})`));
      if (!snar) return finish(new RemoteError(`${session.where} did not send back the snapshot of this capture`));
      finish(null, { ...scanner.counts(), streamBytes, seconds: (performance.now() - started) / 1000, warnings, snar, names: scanner.names });
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
        if (/No space left on device|Disk quota exceeded/i.test(localErr)) return finish(localTarError(localErr, target));
        setTimeout(() => {
          if (!remoteExit && !settled) finish(localTarError(localErr, target));
        }, 3000).unref?.();
        return;
      }
      evaluate();
    });
  });
}

/**
 * The node's stderr: tar's messages, then `\n<marker>\n` and the snapshot, to the end. A
 * snapshot (GNU tar format 2) starts with its "GNU tar-" header and ends with a NUL-terminated
 * record, so a truncated one is recognised and refused.
 */
export function splitStderr(all: Buffer, marker: string): { text: string; snar: Buffer | null } {
  const m = Buffer.from(`\n${marker}\n`, "latin1");
  const at = all.indexOf(m);
  if (at < 0) return { text: all.toString("utf8"), snar: null };
  const body = all.subarray(at + m.length);
  const valid = body.subarray(0, 8).toString("latin1") === "GNU tar-" && body.at(-1) === 0;
  return { text: all.subarray(0, at).toString("utf8"), snar: valid ? body : null };
}

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

function localTarError(stderr: string, target: string): XcimgError {
  const lines = tarLines(stderr);
  if (lines.some((l) => /No space left on device|Disk quota exceeded/i.test(l))) {
    return new IOFailure(`no space left on device while writing the image under ${target}`, { hint: "free space under installdir (the previous image was kept) and capture again" });
  }
  return new IOFailure(`extracting the archive into ${target} failed: ${lines.slice(0, 5).join("; ") || "tar exited with an error"}`);
}
