/**
 * Every failure xcimg reports is one of these classes; each carries its exit code so the single
 * top-level catch in cli/main.ts can map it without knowing what went wrong. Codes follow
 * sysexits(3) where one fits, so shell scripts on management nodes can branch on them.
 * Anything thrown that is not an XcimgError is a bug (exit 70).
 */
export const ExitCode = {
  OK: 0,
  /** Some nodes or items failed, the others were done (xCAT returns 1 in the same case). */
  PARTIAL: 1,
  /**
   * Something xCAT does that xcimg does not (yet): an xCAT command's subcommand, option or
   * object type (cli/xcat/commands.ts: `nodeset <node> shell`, `lslite <noderange>`). Reached
   * in test/cli/xcat/xcat-names.test.ts.
   */
  NOT_IMPLEMENTED: 3,
  USAGE: 64,
  DATA: 65,
  NOT_FOUND: 66,
  UNAVAILABLE: 69,
  INTERNAL: 70,
  CANT_CREATE: 73,
  IO: 74,
  BUSY: 75,
  PERMISSION: 77,
  CONFIG: 78,
  INTERRUPTED: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class XcimgError extends Error {
  // names are spelled out: minified builds rename classes, and --json reports the kind
  override readonly name: string = "XcimgError";
  readonly exitCode: ExitCodeValue = ExitCode.INTERNAL;
  /** What to run or check next; printed on its own line after the message. */
  readonly hint?: string;
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.hint = opts.hint;
  }
}

/** Bad command line: unknown flag, missing argument, invalid value. */
export class UsageError extends XcimgError {
  override readonly name = "UsageError";
  override readonly exitCode = ExitCode.USAGE;
}
/** Input data is malformed or unsafe: CSV, manifest, bundle, exlist, attribute value. */
export class DataError extends XcimgError {
  override readonly name = "DataError";
  override readonly exitCode = ExitCode.DATA;
}
/** A named image, node, table, file or kernel does not exist. */
export class NotFoundError extends XcimgError {
  override readonly name = "NotFoundError";
  override readonly exitCode = ExitCode.NOT_FOUND;
}
/** A remote node or service cannot be reached, authenticated or trusted. */
export class RemoteError extends XcimgError {
  override readonly name = "RemoteError";
  override readonly exitCode = ExitCode.UNAVAILABLE;
}
/** An output file or directory cannot be created. */
export class CantCreateError extends XcimgError {
  override readonly name = "CantCreateError";
  override readonly exitCode = ExitCode.CANT_CREATE;
}
/** Reading or writing failed underway (disk full, I/O error, a helper tool crashed). */
export class IOFailure extends XcimgError {
  override readonly name = "IOFailure";
  override readonly exitCode = ExitCode.IO;
}
/** Another xcimg process holds the lock on this image; try again later. */
export class BusyError extends XcimgError {
  override readonly name = "BusyError";
  override readonly exitCode = ExitCode.BUSY;
}
export class PermissionFailure extends XcimgError {
  override readonly name = "PermissionFailure";
  override readonly exitCode = ExitCode.PERMISSION;
}
/** The TOML configuration is unreadable, malformed, or has unknown keys or wrong types. */
export class ConfigError extends XcimgError {
  override readonly name = "ConfigError";
  override readonly exitCode = ExitCode.CONFIG;
}
export class NotImplementedError extends XcimgError {
  override readonly name = "NotImplementedError";
  override readonly exitCode = ExitCode.NOT_IMPLEMENTED;
}
/** Ctrl-C or SIGTERM: the operation was rolled back. */
export class InterruptedError extends XcimgError {
  override readonly name = "InterruptedError";
  override readonly exitCode = ExitCode.INTERRUPTED;
}
/** A bug: an invariant did not hold. */
export class InternalError extends XcimgError {
  override readonly name = "InternalError";
  override readonly exitCode = ExitCode.INTERNAL;
}

/** Map a Node fs error to the right class, keeping the path in the message. */
export function fsError(err: unknown, what: string): XcimgError {
  const e = err as NodeJS.ErrnoException;
  const detail = e?.code ? `${e.code}: ${e.message}` : String(err);
  switch (e?.code) {
    case "ENOENT":
      return new NotFoundError(`${what}: no such file or directory`, { cause: err });
    case "EACCES":
    case "EPERM":
      return new PermissionFailure(`${what}: permission denied`, { cause: err });
    case "ENOSPC":
    case "EDQUOT":
      return new IOFailure(`${what}: no space left on device`, { cause: err });
    default:
      return new IOFailure(`${what}: ${detail}`, { cause: err });
  }
}
