import type { SshFlags } from "../core/remote/target";
import type { ArgsSpec, ParsedArgs } from "./args";

/**
 * The SSH options of every command that reaches nodes (capture, clone, node status,
 * updatenode): one spelling and one help text, read into core/remote/target.ts's SshFlags.
 */
export const SSH_ARGS = {
  port: { type: "string", description: "SSH port of the node(s) (default: ssh.port)" },
  user: { type: "string", description: "SSH user (default: ssh.user)" },
  identity: { type: "string", description: "SSH private key (default: ssh.identity; SSH_AUTH_SOCK is used too)" },
} as const satisfies ArgsSpec;

/** The flags given on the command line, for nodeTarget and NodeTrust.target. */
export function sshFlags(args: ParsedArgs<typeof SSH_ARGS>): SshFlags {
  return { port: args.port, user: args.user, identity: args.identity };
}
