import type { Context } from "../context";
import { ConfigError, DataError, PermissionFailure } from "../errors";
import { type AllowedSigner, principalsFor, readAllowedSigners } from "./allowed-signers";
import { keyLabel, NAMESPACE, parseArmored, verifySshSignature } from "./sshsig";

/**
 * The site's trust settings ([trust] in xcimg.toml) and the verdict on one signed document.
 *   require = "signed"  only documents signed by a key in allowed_signers are accepted
 *   require = "warn"    (default) unsigned or unknown-signer documents are accepted with a warning
 *   require = "off"     nothing is checked
 * A signature that does not verify, or content that differs from what was signed, is refused
 * whatever the setting except "off": it is never a matter of policy that a bundle was altered.
 * Exit codes: altered or malformed → 65 (bad data); unsigned or unknown signer where signatures
 * are required → 77 (permission denied: the data may be fine, this site does not accept it).
 */
export type TrustMode = "signed" | "warn" | "off";

export interface TrustPolicy {
  mode: TrustMode;
  allowedSignersFile: string;
}

export function trustPolicy(ctx: Context): TrustPolicy {
  const mode = ctx.config["trust.require"];
  if (mode !== "signed" && mode !== "warn" && mode !== "off")
    throw new ConfigError(`[trust] require = "${mode}" is not one of "signed", "warn", "off"`, { hint: `set it in ${ctx.config.source ?? "xcimg.toml"}` });
  return { mode, allowedSignersFile: ctx.config["trust.allowed_signers"] };
}

export interface Verdict {
  signed: boolean;
  /** Principals from allowed_signers for the signing key (empty: unknown signer). */
  principals: string[];
  /** ED25519 SHA256:..., or null when unsigned. */
  key: string | null;
  /** Who signed it, for messages: "alice@site (ED25519 SHA256:…)" or "an unknown key ED25519 SHA256:…". */
  signer: string;
}

/** Read on every use: the file is small, and an edit to it must take effect at once. */
function signersOf(policy: TrustPolicy, needed: boolean): AllowedSigner[] | null {
  try {
    return readAllowedSigners(policy.allowedSignersFile);
  } catch (e) {
    if (needed) throw e;
    return null;
  }
}

/**
 * Check `signature` (armored SSHSIG text or null) over `message`. Throws when the signature is
 * bad, or when policy refuses an unsigned or unknown signer; returns who signed otherwise.
 */
export function judgeSignature(ctx: Context, policy: TrustPolicy, what: string, message: Uint8Array, signature: string | null): Verdict {
  if (signature === null) {
    const v: Verdict = { signed: false, principals: [], key: null, signer: "nobody (unsigned)" };
    if (policy.mode === "signed")
      throw new PermissionFailure(`${what} is not signed, and [trust] require = "signed" accepts only signed images`, {
        hint: `have it signed by a key in ${policy.allowedSignersFile} ('xcimg image sign', 'xcimg export --sign'), or set [trust] require = "warn"`,
      });
    if (policy.mode === "warn") ctx.log.warn(`${what} is not signed (set [trust] require = "signed" to refuse unsigned images)`);
    return v;
  }
  const sig = parseArmored(signature, `the signature of ${what}`);
  const label = keyLabel(sig.publicKey);
  if (sig.namespace !== NAMESPACE)
    throw new DataError(`the signature of ${what} is for namespace '${sig.namespace}', not '${NAMESPACE}'`, { hint: "sign with -n xcimg-image" });
  if (!verifySshSignature(sig, message, NAMESPACE))
    throw new DataError(`the signature of ${what} does not match it: it was changed after ${label} signed it`, {
      hint: "do not use it; get a good copy from whoever made it",
    });
  const signers = signersOf(policy, policy.mode === "signed");
  const principals = signers ? principalsFor(signers, sig.publicKey, NAMESPACE) : [];
  const v: Verdict = { signed: true, principals, key: label, signer: principals.length ? `${principals.join(",")} (${label})` : `an unknown key ${label}` };
  if (!principals.length) {
    const why = signers ? `which is not in ${policy.allowedSignersFile} for namespace ${NAMESPACE}` : `and ${policy.allowedSignersFile} cannot be read`;
    if (policy.mode === "signed")
      throw new PermissionFailure(`${what} is signed by ${label}, ${why}`, {
        hint: `if you trust that key, add a line 'principal namespaces="${NAMESPACE}" <key>' to ${policy.allowedSignersFile}`,
      });
    ctx.log.warn(`${what} is signed by ${label}, ${why}`);
  }
  return v;
}
