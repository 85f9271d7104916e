import { IOFailure } from "../errors";

/** `--reload`: run the server's reload (config dhcp.reload, else the backend's systemctl line) through /bin/sh. */
export function runReload(cmd: string): void {
  const r = Bun.spawnSync(["/bin/sh", "-c", cmd], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    throw new IOFailure(
      `the configuration is in place, but '${cmd}' failed (exit ${r.exitCode}): ${r.stderr.toString().trim().split("\n").slice(-3).join("; ")}`,
      {
        hint: "reload the DHCP server by hand, or set dhcp.reload in xcimg.toml to the command that does it",
      },
    );
  }
}
