import { expandPath } from "../config/load";
import type { Context } from "../context";
import { readNodes } from "../defs/node";
import { UsageError } from "../errors";
import { validateNodeName } from "../names";
import type { SshTarget } from "./ssh";

/** Per-invocation overrides of the [ssh] config (command-line flags). */
export interface SshFlags {
  port?: string | number;
  user?: string;
  identity?: string;
  acceptNewHostkey?: boolean;
}

/**
 * Where and how to reach a node: its effective hosts.ip (own row or a group's, regex values
 * computed) if set, else its name; port, user and key from the flags, else the config.
 * A name that is not a defined node is dialled as given, so a machine can be captured
 * before it is defined.
 */
export function nodeTarget(ctx: Context, node: string, flags: SshFlags = {}): SshTarget {
  validateNodeName(node);
  const attrs = readNodes(ctx.db(), [node]).get(node);
  return {
    node,
    host: attrs?.ip || node,
    port: parsePort(flags.port ?? ctx.config["ssh.port"]),
    user: flags.user || ctx.config["ssh.user"],
    identity: flags.identity ? expandPath(flags.identity, process.cwd(), ctx.env) : ctx.config["ssh.identity"],
    knownHosts: ctx.config["ssh.known_hosts"],
    acceptNewHostKey: Boolean(flags.acceptNewHostkey),
    agent: ctx.env.SSH_AUTH_SOCK || undefined,
  };
}

function parsePort(v: string | number): number {
  const n = typeof v === "number" ? v : /^\d+$/.test(v) ? Number.parseInt(v, 10) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`invalid SSH port '${v}': expected a number between 1 and 65535`);
  return n;
}
