import { afterAll, beforeAll, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../../../src/core/remote/ssh";

/**
 * A node's sshd that goes away in the middle of the handshake — it sent its banner, then the
 * node rebooted — closes the TCP connection without an SSH error. ssh2 then emits neither
 * 'ready' nor 'error' and drops its own ready timeout, so connect() used to wait forever:
 * `xcimg clone --wait` hung on a node that had long booted (seen in CI). What stands in for
 * the node here is a TCP server that does exactly that: OpenSSH's banner, then close.
 */
const dir = mkdtempSync(join(tmpdir(), "xcimg-hs-close-"));
let server: Server;
let port = 0;

beforeAll(async () => {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id")]);
  server = createServer((s) => {
    s.write("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    setTimeout(() => s.end(), 50);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  port = (server.address() as { port: number }).port;
});
afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a connection closed mid-handshake is a prompt RemoteError, not a wait without end", async () => {
  const t = performance.now();
  const target = {
    node: "cn1",
    host: "127.0.0.1",
    port,
    user: "root",
    identity: join(dir, "id"),
    knownHosts: join(dir, "known_hosts"),
    acceptNewHostKey: true,
  };
  const outcome = await Promise.race([
    connect(target, { readyTimeoutMs: 20_000 }).then(
      () => "connected",
      (e: Error) => `${e.name}: ${e.message}`,
    ),
    new Promise<string>((r) => setTimeout(() => r("still waiting after 10 s"), 10_000)),
  ]);
  expect(outcome).toBe(`RemoteError: the connection to cn1 (127.0.0.1:${port}) closed before SSH was ready`);
  expect(performance.now() - t).toBeLessThan(10_000);
}, 30_000);
