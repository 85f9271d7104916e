import { DataError } from "../errors";
import type { TemplateFile, TemplateFilePolicy } from "./files";
import type { TemplateTables } from "./tables";

/** One line of an expanded template and where it came from, for errors that name file and line. */
export interface SourceLine {
  text: string;
  file: string;
  line: number;
  /** From #INCLUDE_NOP#: copied verbatim, no directive is expanded in it. */
  raw?: boolean;
  /** Why this line may not use secret directives (its file, or a file including it, is not the site's own). */
  untrusted?: string;
}

/**
 * Everything a template render reads. Paths starting with `builtin:` name templates and
 * lists compiled into xcimg (see builtin.ts); all others are files on the management node.
 */
export interface RenderRequest {
  node: string;
  template: string;
  /** linuximage.pkglist (comma-separated files), for #INCLUDE_DEFAULT_PKGLIST*# */
  pkglist?: string;
  /** xCAT platform: rh, centos, rocky, alma, ol, fedora, sles, debian, ubuntu */
  platform: string;
  /** linuximage.pkgdir entries (absolute paths under installdir), first = the OS media */
  pkgdirs: string[];
  installdir: string;
  /** Where templates, includes and package lists may be read from, and which are the site's own (files.ts). */
  files: TemplateFilePolicy;
  httpPort: number;
  /** The address the node installs from (noderes.nfsserver → xcatmaster → config master). */
  server: string;
  tables: TemplateTables;
  /** Values #XCATVAR:x# and #ENV:x# see before the environment: XCATMASTER, PERSKCMDLINE, ... */
  vars: Record<string, string>;
  env: Record<string, string | undefined>;
  /** #COMMAND:...# runs shell commands on the management node: only when the admin asked for it. */
  allowCommands: boolean;
  /** Salt for #CRYPT# hashes (tests pass a fixed one; production uses a random salt per render). */
  salt?: () => string;
  /**
   * Hashes already made in this run, by method and password: SHA-crypt costs milliseconds, so
   * the nodes of one `boot` share one salted hash of the same password instead of paying it
   * 10,000 times (the password is the same for all of them anyway).
   */
  cryptCache?: Map<string, string>;
  /** Files already read in this run (real path → content and trust), shared by its renders. */
  fileCache?: Map<string, TemplateFile>;
}

/**
 * A template that cannot be rendered for a node: says which node, which file and which line,
 * so an admin with 500 nodes and nested includes can go straight to the cause.
 */
export class TemplateError extends DataError {
  constructor(
    readonly node: string,
    readonly file: string,
    readonly line: number,
    readonly detail: string,
    hint?: string,
  ) {
    super(`${node}: ${file}:${line}: ${detail}`, { hint });
  }
}

/**
 * A template that does something only the site's own templates may do, or reads a file it may
 * not: the whole command stops before anything is written (one hostile template is not a
 * per-node problem).
 */
export class TemplatePolicyError extends TemplateError {}
