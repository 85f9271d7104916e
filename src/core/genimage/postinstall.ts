import { IOFailure } from "../errors";
import type { Logger } from "../log";
import { mountTreeLines, runIsolated, sq } from "./isolate";
import type { BuildPlan } from "./plan";

/**
 * linuximage.postinstall, as xCAT's netboot genimage runs it: each script on the MN (not
 * chrooted) as `script <rootimg> <osver> <arch> <profile> <args...>` with the IMG_* variables
 * set and the tree's proc/sys/dev mounted; the first that fails stops the build. Here the tree
 * is the staging tree (the live image is untouched until the new one is complete), so $1 and
 * IMG_ROOTIMGDIR name it, and the mounts exist only inside the script's namespace.
 */
export async function runPostinstall(plan: BuildPlan, kernelver: string, log: Logger, signal: AbortSignal): Promise<void> {
  for (const { script, args } of plan.postinstall) {
    const env: Record<string, string> = { ...plan.environ };
    const set = (k: string, v: string | undefined) => {
      if (v) env[k] = v;
    };
    set("IMG_NAME", plan.image.name);
    set("IMG_ARCH", plan.arch);
    set("IMG_OSVER", plan.osvers);
    set("IMG_KERNELVERSION", kernelver);
    set("IMG_PROFILE", plan.profile);
    set("IMG_PKGLIST", plan.pkglistSource);
    set("IMG_PKGDIR", plan.pkgdir);
    set("IMG_OTHERPKGLIST", plan.image.attrs.otherpkglist);
    set("IMG_OTHERPKGDIR", plan.otherpkgdir);
    set("IMG_ROOTIMGDIR", plan.staging);
    log.info(`Running postinstall ${[script, ...args].join(" ")}...`);
    const argv = [script, plan.staging, plan.osvers, plan.arch, plan.profile, ...args];
    const r = await runIsolated([...mountTreeLines(plan.staging), argv.map(sq).join(" ")].join("\n"), { env, log, signal, label: "postinstall" });
    if (r.code !== 0) {
      throw new IOFailure(`postinstall script ${script} failed (exit ${r.code})${r.tail.length ? `: ${r.tail.slice(-3).join(" | ")}` : ""}`, {
        hint: "fix the script (it gets the tree as $1); the previous image is unchanged",
      });
    }
  }
}
