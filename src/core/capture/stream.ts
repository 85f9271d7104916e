import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { CantCreateError, DataError, fsError, InterruptedError, IOFailure, RemoteError, type XcimgError } from "../errors";
import type { Logger } from "../log";
import { shq } from "../remote/shell";
import { abortReason, type RemoteSession } from "../remote/ssh";
import { CONFINE_FAILED, CONFINE_MESSAGE, confinedTarArgv, findRedirect, JAIL_TREE } from "./confine";
import { MAX_SNAPSHOT, NodeStderr } from "./node-stderr";
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
 * then the archive; after tar, stderr carries the new snapshot behind a marker of its own
 * (node-stderr.ts bounds it).
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

/** The extracting tar's arguments; it runs confined (confine.ts) and sees the tree as JAIL_TREE. */
export function localTarArgs(staging: string): string[] {
  return [
    "--extract",
    "--file=-",
    "--listed-incremental=/dev/null",
    ...FIDELITY,
    "--same-owner",
    "--same-permissions",
    "--warning=no-timestamp",
    "-C",
    staging,
  ];
}

/** The management node's tar must be GNU tar with xattr and ACL support. */
export function checkLocalTar(): void {
  const r = spawnSync("tar", ["--help"], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  if (r.error || r.status !== 0)
    throw new CantCreateError("GNU tar is not installed on this management node", { hint: "install it (Debian/RHEL package 'tar')" });
  const missing = ["--xattrs", "--acls", "--listed-incremental"].filter((o) => !r.stdout.includes(o));
  if (missing.length) throw new CantCreateError(`this management node's tar lacks ${missing.join(", ")}`, { hint: "install GNU tar 1.27 or newer" });
  // the extracting tar runs in a mount namespace of its own (confine.ts)
  const u = spawnSync("unshare", ["--version"], { encoding: "utf8" });
  if (u.error || u.status !== 0) throw new CantCreateError("unshare (util-linux) is not installed on this management node", { hint: "install util-linux" });
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
  opts: { signal: AbortSignal; log: Logger; estimate: number | null; label: string; names: boolean; jail: string; spool: string },
): Promise<StreamResult> {
  const started = performance.now();
  const nonce = randomBytes(6).toString("hex");
  const markers = { stream: `XCIMG-TAR-STREAM-${nonce}\n`, snar: `XCIMG-SNAR-${nonce}` };
  const remote = await session.exec(Buffer.from(`/bin/sh -c ${shq(remoteScript(spec, markers))}`, "latin1"));
  const [cmd, ...argv] = confinedTarArgv(opts.jail, target, localTarArgs(JAIL_TREE));
  const local = spawn(cmd as string, argv, { stdio: ["pipe", "ignore", "pipe"], env: { ...process.env, LC_ALL: "C" } });
  const scanner = new TarScanner({ names: opts.names });
  const progress = new Progress(opts.log, opts.label, opts.estimate);
  const marker = Buffer.from(markers.stream, "latin1");
  let streamBytes = 0;
  const nodeErr = new NodeStderr(markers.snar, opts.spool);
  let localErr = "";
  let prefix: Buffer | null = Buffer.alloc(0);

  // How it ends. Every path settles exactly once (finish), and always with both sides stopped:
  //   remote exits, then the local tar          → evaluate (both statuses known)
  //   local tar exits, then the remote          → evaluate; while waiting, the rest of the
  //                                               stream is read and dropped, so a node that
  //                                               is still sending can finish and say why
  //   local tar failed, the remote does not end → its error after LOCAL_FAILED_GRACE_MS
  //   local tar done, the remote does not end   → an error after REMOTE_QUIET_MS without a byte
  //   the connection drops                      → remote.done rejects
  //   Ctrl-C / SIGTERM                          → the abort signal
  // A failure kills both sides and waits for the local tar to be gone before rejecting, so the
  // caller may remove the tree it was writing and release the image lock.
  return await new Promise<StreamResult>((resolve, reject) => {
    let settled = false;
    let remoteExit: { code: number | null; signal: string | null } | null = null;
    let localExit: { code: number | null } | null = null;
    let quiet: ReturnType<typeof setTimeout> | null = null;
    /** The whole stream reached the scanner and the local tar (it was alive until the end). */
    let delivered = false;
    const timer = setInterval(() => progress.draw(streamBytes), 250);
    const localClosed = new Promise<void>((res) => local.once("close", () => res()));
    const finish = (err: XcimgError | null, value?: StreamResult) => {
      if (settled) return;
      settled = true;
      nodeErr.close();
      clearInterval(timer);
      if (quiet) clearTimeout(quiet);
      progress.done();
      opts.signal.removeEventListener("abort", onAbort);
      if (err) {
        remote.kill();
        if (!localExit) local.kill("SIGKILL");
        // wait for the local tar to exit before the caller removes its directory
        if (localExit || local.pid === undefined) reject(err);
        else void localClosed.then(() => reject(err));
      } else resolve(value as StreamResult);
    };
    const onAbort = () => finish(abortReason(opts.signal));
    if (opts.signal.aborted) return onAbort();
    opts.signal.addEventListener("abort", onAbort, { once: true });

    /** After the local tar is done, the node must end the command; each byte it sends counts as life. */
    const expectRemoteEnd = () => {
      if (remoteExit || settled || !localExit || localExit.code !== 0) return;
      if (quiet) clearTimeout(quiet);
      quiet = setTimeout(() => {
        if (!remoteExit)
          finish(
            new RemoteError(`${session.where} kept the command running for ${REMOTE_QUIET_MS / 1000} s after the archive ended, sending nothing`, {
              hint: "nothing was changed; check the golden node's tar and capture again",
            }),
          );
      }, REMOTE_QUIET_MS);
      quiet.unref?.();
    };

    const ch = remote.channel;
    ch.on("data", (chunk: Buffer) => {
      if (settled) return;
      if (localExit) return expectRemoteEnd(); // the local tar is gone: drop the rest
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
    ch.on("end", () => {
      if (!localExit) delivered = true;
      local.stdin.end();
    });
    ch.on("error", () => {
      // a channel error ends in 'close' without an exit status: remote.done rejects
    });
    ch.stderr.on("data", (d: Buffer) => {
      if (settled) return;
      nodeErr.push(d);
      if (nodeErr.overflow) {
        return finish(
          new DataError(`the snapshot file ${session.where} sends back is larger than ${MAX_SNAPSHOT / 1024 / 1024} MiB; stopped the capture there`, {
            hint: "nothing was changed; a real snapshot is about the size of all file names in the tree: check the golden node's tar",
          }),
        );
      }
      if (localExit) expectRemoteEnd();
    });
    local.stdin.on("error", () => {
      // EPIPE: the local tar died; its exit status tells why
    });
    local.stderr.on("data", (d: Buffer) => {
      if (localErr.length < 1 << 16) localErr += d.toString("utf8");
    });
    local.on("error", (e) => {
      if (local.pid === undefined) localExit = { code: null }; // never started: no 'close' to wait for
      finish(new CantCreateError(`cannot run unshare and tar on this management node: ${e.message}`, { cause: e }));
    });
    ch.write(spec.snar ?? Buffer.alloc(0));
    // one per line (tar 1.34 ignores --null for --exclude-from); `?` stands for a newline
    ch.end(Buffer.concat(spec.excludes.map((p) => Buffer.from(`${p.replace(/\n/g, "?")}\n`, "latin1"))));

    const evaluate = () => {
      if (settled || !remoteExit || !localExit) return;
      const { text, snar } = nodeErr.result();
      // tar's own messages start with "tar: "; anything else came from the login shell
      const lines = tarLines(text);
      const warnings = lines.filter((l) => TAR_MESSAGE.test(l));
      for (const l of lines) if (!TAR_MESSAGE.test(l)) opts.log.debug(`${session.where}: ${l}`);
      // the local tar never ran: nothing the node sent matters
      if (confineFailed(tarLines(localErr), localExit.code)) return finish(localTarError(localErr, localExit.code, target, session.where));
      if (remoteExit.code === 96) return finish(new RemoteError(`cannot write to ${spec.tmpdir} on ${session.where}: ${lines.slice(0, 3).join("; ")}`));
      if (remoteExit.code !== 0 && remoteExit.code !== 1) return finish(remoteTarError(remoteExit, warnings.length ? warnings : lines, session.where));
      if (prefix) return finish(new RemoteError(`${session.where} sent no archive${lines.length ? `: ${lines.slice(0, 3).join("; ")}` : ""}`));
      // a stream cut short makes the local tar fail too ("Unexpected EOF"): the cause is the node
      const short = delivered && !scanner.ended && !scanner.broken;
      if (localExit.code !== 0 && !short) return finish(localTarError(localErr, localExit.code, target, session.where));
      if (nodeErr.writeError) return finish(fsError(nodeErr.writeError, `cannot write the node's snapshot file to ${opts.spool}`));
      if (!scanner.ended && !scanner.broken)
        return finish(new RemoteError(`the archive from ${session.where} ended early (after ${formatBytes(streamBytes)})`));
      if (!snar) return finish(new RemoteError(`${session.where} did not send back the snapshot of this capture`));
      finish(null, { ...scanner.counts(), streamBytes, seconds: (performance.now() - started) / 1000, warnings, snar, names: scanner.names });
    };
    remote.done.then(
      (r) => {
        remoteExit = r;
        local.stdin.end(); // in case the channel closed without 'end'
        evaluate();
      },
      (e: XcimgError) => finish(e),
    );
    local.on("close", (code) => {
      localExit = { code };
      if (settled) return;
      // nothing more goes to the local tar: let the node's output flow (and be dropped)
      ch.resume();
      if (remoteExit) return evaluate();
      if (code === 0) return expectRemoteEnd();
      // the local side failed first; a full disk is ours to report, anything else may be the
      // symptom of a broken stream, so give the node a moment to explain
      if (/No space left on device|Disk quota exceeded/i.test(localErr) || confineFailed(tarLines(localErr), code))
        return finish(localTarError(localErr, code, target, session.where));
      setTimeout(() => {
        if (!settled) finish(localTarError(localErr, code, target, session.where));
      }, LOCAL_FAILED_GRACE_MS).unref?.();
    });
  });
}

/** How long the node may take to exit after the local tar failed (it may be telling why). */
const LOCAL_FAILED_GRACE_MS = 3000;
/** How long the node may stay silent after the archive ended before the capture gives up. */
const REMOTE_QUIET_MS = 60_000;

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

/** What unshare, chroot or the jail script said (tar's own messages start with "tar: "). */
function confineLines(lines: string[]): string[] {
  return lines.filter((l) => l.startsWith(CONFINE_MESSAGE) || l.startsWith("unshare: ") || l.startsWith("chroot: "));
}

/** The local tar never ran: the jail could not be set up (no CAP_SYS_ADMIN, no tar in /usr). */
function confineFailed(lines: string[], code: number | null): boolean {
  return code === CONFINE_FAILED || (code !== 0 && code !== 2 && confineLines(lines).length > 0);
}

function localTarError(stderr: string, code: number | null, target: string, where: string): XcimgError {
  // the confined tar is run by its full path, which it prefixes its messages with
  const lines = tarLines(stderr).map((l) => l.replace(TAR_MESSAGE, "tar: "));
  const confine = confineLines(lines);
  if (confineFailed(lines, code)) {
    return new CantCreateError(
      `cannot confine the extracting tar (confine.ts): ${confine.map((l) => l.replace(CONFINE_MESSAGE, "")).join("; ") || `exit status ${code}`}`,
      {
        hint: "xcimg capture must run as root on the management node, where it may create mount namespaces (CAP_SYS_ADMIN; not inside an unprivileged container)",
      },
    );
  }
  const redirect = findRedirect(target, lines);
  if (redirect) {
    return new DataError(
      `the archive from ${where} tried to reach outside the image: member ./${redirect.member} goes through the symbolic link ./${redirect.link} -> ${redirect.to} (GNU tar never archives such a path); nothing outside the image was touched`,
      { hint: "the capture was refused and the previous image kept; check what runs as tar on the golden node before capturing it again" },
    );
  }
  if (lines.some((l) => /No space left on device|Disk quota exceeded/i.test(l))) {
    return new IOFailure(`no space left on device while writing the image under ${target}`, {
      hint: "free space under installdir (the previous image was kept) and capture again",
    });
  }
  return new IOFailure(`extracting the archive into ${target} failed: ${lines.slice(0, 5).join("; ") || "tar exited with an error"}`);
}
