import { lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Context } from "../context";
import { enabledRow } from "../db/rows";
import { DataError, IOFailure } from "../errors";
import { ImageRoot } from "../image/image-root";
import { type CryptMethod, isCryptHash, ROUNDS_DEFAULT, randomSalt, shaCrypt } from "../template/crypt";

/**
 * xCAT packimage's root password step: the root line of the image's /etc/shadow becomes
 * `root:<hash>:13880:0:99999:7:::`, the hash from the passwd table (key=system,
 * username=root; clear text is hashed with its cryptmethod, sha512 by default), or `*` when
 * site.secureroot=1 (root cannot log in with a password).
 *
 * Unlike xCAT, which falls back to the literal password "cluster", an image with no passwd
 * entry keeps its own root line: a captured image carries the golden node's password.
 *
 * The file is replaced, never rewritten in place: it may be a hardlink shared with another
 * image tree; the copy keeps its owner, mode, times and xattrs (SELinux label) via
 * `cp -a --attributes-only`. A clear-text password that already matches the image's hash
 * (same salt) leaves the file untouched, so packing again changes nothing.
 */
export type RootPasswordResult = "set" | "locked" | "unchanged" | "kept";

/** The hash xCAT would write, or null when the tables say nothing. */
function wantedHash(ctx: Context, current: string | null): { hash: string; locked: boolean } | null {
  if (enabledRow(ctx.db(), "site", { key: "secureroot" })?.value === "1") return { hash: "*", locked: true };
  const row = enabledRow(ctx.db(), "passwd", { key: "system", username: "root" });
  const password = row?.password;
  if (!password) return null;
  if (isCryptHash(password)) return { hash: password, locked: false };
  const method = row?.cryptmethod || "sha512";
  if (method !== "sha512" && method !== "sha256") {
    throw new DataError(`Unsupported crypt method ${method} for the root password in the passwd table`, {
      hint: "use cryptmethod sha512 (the default) or sha256, or store an already hashed password",
    });
  }
  // the image's hash of the same password stays as it is (same salt, same rounds)
  const m = current ? /^\$([56])\$(?:rounds=(\d+)\$)?([^$]{0,16})\$/.exec(current) : null;
  if (m && (m[1] === "6") === (method === "sha512")) {
    const again = shaCrypt(password, m[3] as string, method as CryptMethod, m[2] ? Number(m[2]) : ROUNDS_DEFAULT);
    if (again === current) return { hash: current, locked: false };
  }
  return { hash: shaCrypt(password, randomSalt(), method as CryptMethod), locked: false };
}

export function setRootPassword(ctx: Context, tree: string): RootPasswordResult {
  const shadow = new ImageRoot(tree).at("/etc/shadow");
  let st: ReturnType<typeof lstatSync> | null = null;
  try {
    st = lstatSync(shadow);
  } catch {
    st = null;
  }
  const text = st?.isFile() ? readFileSync(shadow, "latin1") : null;
  const lines = text?.split("\n") ?? [];
  const at = lines.findIndex((l) => l.startsWith("root:"));
  const current = at >= 0 ? ((lines[at] as string).split(":")[1] ?? "") : null;
  const want = wantedHash(ctx, current);
  if (!want) return "kept";
  if (text === null || at < 0) {
    ctx.log.warn(
      `${join(tree, "etc/shadow")} ${text === null ? "is missing or not a regular file" : "has no root line"}: the root password from the passwd table was not set`,
    );
    return "kept";
  }
  const line = `root:${want.hash}:13880:0:99999:7:::`;
  if (lines[at] === line) return "unchanged";
  lines[at] = line;
  const tmp = join(dirname(shadow), ".shadow.xcimg-tmp");
  try {
    const cp = Bun.spawnSync(["cp", "-a", "--attributes-only", "--", shadow, tmp], { stderr: "pipe" });
    if (cp.exitCode !== 0) throw new IOFailure(`cannot copy ${shadow}: ${cp.stderr.toString().trim()}`);
    writeFileSync(tmp, lines.join("\n"), "latin1");
    renameSync(tmp, shadow);
  } finally {
    rmSync(tmp, { force: true });
  }
  return want.locked ? "locked" : "set";
}

/** The line pack and lite log when the root line changed. */
export function rootPasswordMessage(r: RootPasswordResult): string | null {
  if (r === "set") return "root password: set from the passwd table";
  if (r === "locked") return "root password: locked (site.secureroot=1)";
  return null;
}
