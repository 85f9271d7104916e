import { createConnection } from "node:net";
import { IOFailure } from "../errors";

/**
 * `--reload`: run the server's reload — config dhcp.reload, else the backend's systemctl line,
 * through /bin/sh; or, for Kea with site.dhcpcontrolsocket, `config-reload` over its control
 * socket. Kea answers that on the socket (result 0, or 1 with its reason, keeping the running
 * configuration), so a reload Kea refused is reported, which a SIGHUP never is.
 */
const KEA_PREFIX = "kea config-reload over ";

/** The reload line printed for a Kea with a control socket (and recognised by runReload). */
export const keaSocketReload = (socket: string) => `${KEA_PREFIX}${socket}`;

export async function runReload(cmd: string): Promise<void> {
  if (cmd.startsWith(KEA_PREFIX)) return keaConfigReload(cmd.slice(KEA_PREFIX.length));
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

interface KeaAnswer {
  result: number;
  text?: string;
}

async function keaConfigReload(socket: string): Promise<void> {
  const fail = (why: string) =>
    new IOFailure(`the configuration is in place, but Kea's config-reload over ${socket} failed: ${why}`, {
      hint: "is kea-dhcp4 running with this control socket? Reload it by hand (systemctl reload kea-dhcp4-server), or fix site.dhcpcontrolsocket",
    });
  let answer: KeaAnswer;
  try {
    answer = await keaCommand(socket, "config-reload");
  } catch (e) {
    throw fail(e instanceof Error ? e.message : String(e));
  }
  if (answer.result !== 0) throw fail(`Kea answered ${answer.result}: ${answer.text ?? "(no text)"} — it keeps running on its previous configuration`);
}

/** One command on kea-dhcp4's unix socket: Kea writes one JSON answer and closes (Kea ARM, "Management API"). */
function keaCommand(socket: string, command: string, timeoutMs = 10000): Promise<KeaAnswer> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const c = createConnection({ path: socket });
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const done = (f: () => void) => {
      clearTimeout(timer);
      c.destroy();
      f();
    };
    c.on("connect", () => c.write(JSON.stringify({ command })));
    c.on("data", (d) => {
      buf += d.toString();
      const a = parseAnswer(buf);
      if (a) done(() => resolve(a));
    });
    c.on("error", (e) => done(() => reject(e)));
    c.on("close", () =>
      done(() =>
        parseAnswer(buf) ? resolve(parseAnswer(buf) as KeaAnswer) : reject(new Error(buf ? `unreadable answer: ${buf.slice(0, 200)}` : "no answer")),
      ),
    );
  });
}

/** kea-dhcp4 answers with one object; through the Control Agent it would be a list of one. */
function parseAnswer(text: string): KeaAnswer | null {
  try {
    const j = JSON.parse(text) as KeaAnswer | KeaAnswer[];
    const a = Array.isArray(j) ? j[0] : j;
    return a && typeof a.result === "number" ? a : null;
  } catch {
    return null;
  }
}
