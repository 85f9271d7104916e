import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DiskLayout } from "../../../src/core/capture/probe";
import { chunkSums } from "../../../src/provmethods/sysclone/artifacts";
import { MiB, normalizeLayout, type SourceLayout } from "../../../src/provmethods/sysclone/layout";
import { nodeFilesystems, renderPlanEnv } from "../../../src/provmethods/sysclone/node-plan";
import { CLONE_SCRIPT } from "../../../src/provmethods/sysclone/node-script";
import { type ClonePlan, planFor } from "../../../src/provmethods/sysclone/planner";
import { goldenGpt, lvmUefi, mbrBios, planInput } from "../../helpers/clone-layouts";

/**
 * The node side of clone (clone.sh, run by dash here as Debian's /bin/sh runs it on nodes),
 * function by function on this machine: choosing the plan variant for a real disk size must
 * agree with the planner; the partition table it writes is applied by the real sfdisk to a
 * sparse disk image and read back; a disk too small stops the script before anything is
 * written; the image is fetched in checked byte ranges with each HTTP client the script knows
 * (curl, wget, python3, bash's /dev/tcp) from a server that drops connections; fstab and other
 * files get the new UUIDs.
 */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "xcimg-clone-sh-"));
  writeFileSync(join(dir, "clone.sh"), CLONE_SCRIPT);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function planEnv(layout: SourceLayout, extra: Partial<Parameters<typeof renderPlanEnv>[0]> = {}, entries = 0): string {
  return renderPlanEnv(planInput(layout, { planOptions: { entries }, ...extra }));
}

/** Run `body` in dash with clone.sh's functions and the plan loaded. */
async function sh(env: string, body: string): Promise<{ code: number; out: string; err: string; run: string }> {
  const run = mkdtempSync(join(dir, "run-"));
  writeFileSync(join(run, "plan.env"), env);
  const script = `XC_LIB=1 XC_DIR=${run} XC_RUN=${run}; . ${join(dir, "clone.sh")}; . ${run}/plan.env; ${body}`;
  const p = Bun.spawn(["dash", "-c", script], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err, run };
}

const CASES: { name: string; raw: () => DiskLayout; entries: number }[] = [
  { name: "GPT (golden VM)", raw: () => goldenGpt().layout, entries: goldenGpt().entries },
  { name: "MBR with extended partition", raw: mbrBios, entries: 0 },
  { name: "GPT with LVM", raw: lvmUefi, entries: 0 },
];

describe("the node gets clone.sh as one script", () => {
  const phases = join(import.meta.dir, "../../../src/provmethods/sysclone/clone.d");

  test("every phase of clone.d/ is inlined and nothing is sourced from it", async () => {
    expect(CLONE_SCRIPT).not.toMatch(/^\. "\$XC_SRC/m);
    for (const phase of ["common", "http", "check", "partition", "copy", "configure", "finish"]) {
      for (const fn of readFileSync(join(phases, `${phase}.sh`), "utf8").matchAll(/^([a-z_]+)\(\) \{/gm)) expect(CLONE_SCRIPT).toContain(`\n${fn[1]}() {`);
    }
    // run from a directory that has no clone.d/, as on the node: the functions are all there
    const p = Bun.spawn(
      [
        "dash",
        "-c",
        `XC_LIB=1 XC_RUN=${dir}/lib; . ${join(dir, "clone.sh")}; for f in check_before_writing copy_image wait_for_local_boot; do command -v $f; done`,
      ],
      {
        cwd: dir,
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect({ code, out: out.trim().split("\n") }).toEqual({ code: 0, out: ["check_before_writing", "copy_image", "wait_for_local_boot"] });
  });
});

describe("clone.sh chooses what the planner chose, and sfdisk makes it", () => {
  for (const c of CASES) {
    const layout = normalizeLayout(c.raw(), "img");
    const env = planEnv(layout, {}, c.entries);
    for (const factor of [1, 2, 0.75]) {
      test(`${c.name}, disk ${factor} x golden`, async () => {
        const bytes = Math.floor((layout.disk.bytes * factor) / MiB) * MiB;
        const plan = planFor(layout, bytes, { entries: c.entries }) as ClonePlan;
        expect("tooSmall" in plan).toBe(false);
        const img = join(dir, `disk-${c.name.replace(/\W+/g, "_")}-${factor}.img`);
        rmSync(img, { force: true });
        writeFileSync(img, "");
        const r = await sh(
          env,
          `DISK=${img}; DISK_BYTES=${bytes}; select_variant; echo "variant=$VARIANT rest=$REST"; sfdisk_script >${img}.script && truncate -s ${bytes} ${img} && sfdisk -q ${img} <${img}.script && sfdisk --json ${img}`,
        );
        expect(r.code, r.err).toBe(0);
        const first = r.out.split("\n")[0] as string;
        const rest = plan.partitions.find((p) => plan.variant.partitions[plan.partitions.indexOf(p)] === "rest" && p.role !== "extended");
        expect(first).toBe(`variant=${plan.variant.policy} rest=${rest?.sizeMiB}`);
        const table = JSON.parse(r.out.slice(r.out.indexOf("{"))).partitiontable as {
          label: string;
          partitions: { node: string; size: number; type: string; bootable?: boolean }[];
        };
        expect(table.label).toBe(layout.disk.label);
        const got = table.partitions.map((p) => [Number(/(\d+)$/.exec(p.node)?.[1]), Math.round((p.size * 512) / MiB), p.type.toUpperCase()]);
        const want = plan.partitions.map((p, i) => [p.number, p.sizeMiB, (layout.partitions[i]?.type ?? "").toUpperCase()]);
        expect(got).toEqual(want);
        rmSync(img, { force: true });
      });
    }
  }

  test("a disk too small stops before anything is written, naming the bytes needed and available", async () => {
    const layout = normalizeLayout(goldenGpt().layout, "golden-vm");
    const r = await sh(planEnv(layout, {}, goldenGpt().entries), "DISK=/dev/vdz; DISK_BYTES=536870912; select_variant; echo never");
    expect(r.code).toBe(1);
    expect(r.out).not.toContain("never");
    const status = readFileSync(join(r.run, "clone.status"), "utf8");
    expect(status).toContain("state=failed\n");
    const need = (planFor(layout, 536870912, { entries: goldenGpt().entries }) as { neededBytes: number }).neededBytes;
    expect(status).toContain(`message=the disk /dev/vdz has 536870912 bytes (512 MiB); image golden-vm needs at least ${need} bytes`);
    expect(status).toContain("The disk was not touched");
  });
});

describe("clone.sh writes the new UUIDs where the golden ones were", () => {
  test("fstab from the template, resume= in /etc/default/grub, the ESP's grub.cfg stub", async () => {
    const layout = normalizeLayout(goldenGpt().layout, "golden-vm");
    const fss = nodeFilesystems(layout);
    const T = join(dir, "target");
    for (const d of ["etc/default", "boot/efi/EFI/debian", "etc/initramfs-tools/conf.d"]) mkdirSync(join(T, d), { recursive: true });
    writeFileSync(join(T, "etc/default/grub"), 'GRUB_CMDLINE_LINUX="console=ttyS0 resume=UUID=0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f60"\n');
    writeFileSync(join(T, "boot/efi/EFI/debian/grub.cfg"), "search.fs_uuid 6a1d3a5e-0c1b-4d2e-9f3a-7b5c4d3e2f10 root hd0,gpt4\n");
    writeFileSync(join(T, "etc/initramfs-tools/conf.d/resume"), "RESUME=UUID=0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f60\n");
    const news = fss
      .map((_, i) => `NEW_UUID_${i + 1}=1111111${i}-aaaa-4bbb-8ccc-dddddddddddd; NEW_PARTUUID_${i + 1}=2222222${i}-aaaa-4bbb-8ccc-eeeeeeeeeeee`)
      .join("; ");
    const r = await sh(planEnv(layout), `T=${T}; ${news}; write_fstab; fix_uuids; echo "initrd=$FIXED_INITRD"`);
    expect(r.code, r.err).toBe(0);
    const idx = (id: string) => fss.findIndex((f) => f.id === id);
    const fstab = readFileSync(join(T, "etc/fstab"), "utf8");
    expect(fstab).toBe(
      [
        `UUID=1111111${idx("p4")}-aaaa-4bbb-8ccc-dddddddddddd / ext4 errors=remount-ro 0 1`,
        `UUID=1111111${idx("p2")}-aaaa-4bbb-8ccc-dddddddddddd /boot/efi vfat umask=0077 0 2`,
        `UUID=1111111${idx("p3")}-aaaa-4bbb-8ccc-dddddddddddd none swap sw 0 0`,
        "",
      ].join("\n"),
    );
    expect(readFileSync(join(T, "etc/default/grub"), "utf8")).toContain(`resume=UUID=1111111${idx("p3")}-aaaa`);
    expect(readFileSync(join(T, "boot/efi/EFI/debian/grub.cfg"), "utf8")).toContain(`search.fs_uuid 1111111${idx("p4")}-aaaa-4bbb-8ccc-dddddddddddd root`);
    expect(r.out).toContain("initrd=1"); // the initramfs carries the resume device: rebuild it
  });
});

describe("clone.sh fetches the image in checked, resumable byte ranges", () => {
  const data = Buffer.alloc(5 * 1024 * 1024 + 123);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  const chunk = 1024 * 1024;
  let zstdArchive: Buffer;
  /** corruptNext: the next range of /corrupt/ that starts at this byte has one byte flipped (then -1). */
  let served: { port: number; stop(): void; drops: number; corruptNext: number };

  beforeAll(() => {
    const file = join(dir, "rootimg.tar.gz");
    writeFileSync(file, data);
    writeFileSync(`${file}.sha256`, chunkSums(file, chunk));
    // A plain TCP server speaking HTTP/1.1 by hand, so a drop is a real one: every other range
    // request gets its headers (Content-Length: the whole range), half the bytes, then the
    // connection is closed, as on a flaky network.
    let n = 0;
    const state = { drops: 0, corruptNext: -1 };
    // a real pax tar of a small tree, zstd-compressed as xcimg clone writes it for an image with zstd
    const tree = join(dir, "ztree");
    mkdirSync(join(tree, "etc"), { recursive: true });
    writeFileSync(join(tree, "etc/hostname"), "golden\n");
    writeFileSync(join(tree, "big"), data);
    const zst = Bun.spawnSync(["sh", "-c", `tar --format=pax -C ${tree} -cf - . | zstd -q -3 -c`]).stdout;
    zstdArchive = Buffer.from(zst);
    writeFileSync(join(dir, "rootimg.tar.zst"), zstdArchive);
    writeFileSync(join(dir, "rootimg.tar.zst.sha256"), chunkSums(join(dir, "rootimg.tar.zst"), 65536));
    const files: Record<string, Buffer> = {
      "/zst/rootimg.tar.zst": zstdArchive,
      "/zst/rootimg.tar.zst.sha256": readFileSync(join(dir, "rootimg.tar.zst.sha256")),
      "/img/rootimg.tar.gz": data,
      "/corrupt/rootimg.tar.gz": data,
      "/img/rootimg.tar.gz.sha256": readFileSync(`${file}.sha256`),
      "/plain/rootimg.tar.gz": data.subarray(0, 65536),
    };
    const srv = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(sock, chunk) {
          // a request may come in several segments (bash's printf writes piecewise): answer
          // once its header is complete
          const seen = ((sock.data as string | undefined) ?? "") + Buffer.from(chunk).toString("latin1");
          sock.data = seen as never;
          if (!seen.includes("\r\n\r\n")) return;
          const req = seen;
          const path = /^GET (\S+) /.exec(req)?.[1] ?? "";
          const body = files[path];
          if (!body) {
            sock.end("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno");
            return;
          }
          const m = /\r\nrange: bytes=(\d+)-(\d*)/i.exec(req);
          // /plain/: a server that ignores Range (python3 -m http.server does)
          if (!m || path.startsWith("/plain/")) {
            sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
            sock.end(body);
            return;
          }
          const a = Number(m[1]);
          const b = m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
          let part = body.subarray(a, b + 1);
          if (path.startsWith("/corrupt/") && a === state.corruptNext) {
            state.corruptNext = -1;
            part = Buffer.from(part);
            part[7] = (part[7] as number) ^ 0xff;
          }
          sock.write(
            `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${a}-${b}/${body.length}\r\nContent-Length: ${part.length}\r\nConnection: close\r\n\r\n`,
          );
          if (n++ % 2 === 0) {
            state.drops++;
            sock.end(part.subarray(0, Math.floor(part.length / 2)));
          } else sock.end(part);
        },
      },
    });
    served = {
      port: srv.port as number,
      stop: () => srv.stop(true),
      get drops() {
        return state.drops;
      },
      get corruptNext() {
        return state.corruptNext;
      },
      set corruptNext(v: number) {
        state.corruptNext = v;
      },
    };
  });
  afterAll(() => served.stop());

  for (const fetcher of ["curl", "wget", "python3", "bash"]) {
    test(`${fetcher}: every chunk, each retried and resumed, sums checked`, async () => {
      if (!Bun.which(fetcher)) throw new Error(`${fetcher} is not installed (scripts/setup-debian.sh)`);
      const layout = normalizeLayout(goldenGpt().layout, "golden-vm");
      const env = planEnv(layout, {
        master: "127.0.0.1",
        httpPort: served.port,
        archive: { urlPath: "/img/rootimg.tar.gz", bytes: data.length, chunkBytes: chunk, chunks: Math.ceil(data.length / chunk) },
      });
      const before = served.drops;
      const r = await sh(
        env,
        `FETCHER=${fetcher}; SUMS_OK=; sleep() { :; }; fetch "$XC_ARCHIVE.sha256" "$XC_RUN/sums" && SUMS_OK=1; stream_archive | sha256sum`,
      );
      expect(r.code, r.err).toBe(0);
      expect(r.out.split(" ")[0]).toBe(createHash("sha256").update(data).digest("hex"));
      expect(served.drops).toBeGreaterThan(before); // the server did cut responses short
      expect(readFileSync(join(r.run, "clone.log"), "utf8")).toMatch(/chunk \d+: cut short, resuming at byte \d+/);
      expect(readFileSync(join(r.run, "clone.status"), "utf8")).toContain("state=copying\npercent=100\n");
    }, 60_000);
  }

  test("stream_ranges (python3, parallel ranges): every chunk, retried and resumed, sums checked, status written", async () => {
    const layout = normalizeLayout(goldenGpt().layout, "golden-vm");
    for (const ranges of [1, 4]) {
      const env = planEnv(layout, {
        master: "127.0.0.1",
        httpPort: served.port,
        archive: { urlPath: "/img/rootimg.tar.gz", bytes: data.length, chunkBytes: chunk, chunks: Math.ceil(data.length / chunk) },
      });
      const before = served.drops;
      const r = await sh(env, `FETCHER=curl; SUMS_OK=; XC_RANGES=${ranges}; fetch "$XC_ARCHIVE.sha256" "$XC_RUN/sums" && SUMS_OK=1; stream_ranges | sha256sum`);
      expect(r.code, r.err).toBe(0);
      expect(r.out.split(" ")[0]).toBe(createHash("sha256").update(data).digest("hex"));
      expect(served.drops).toBeGreaterThan(before);
      expect(readFileSync(join(r.run, "clone.log"), "utf8")).toMatch(/chunk \d+: cut short, resuming at byte \d+/);
      expect(readFileSync(join(r.run, "clone.status"), "utf8")).toContain("state=copying\npercent=100\n");
    }
  }, 60_000);

  test("stream_ranges fetches a chunk again when it arrives corrupted (its sha256 does not match)", async () => {
    const layout = normalizeLayout(goldenGpt().layout, "golden-vm");
    const env = planEnv(layout, {
      master: "127.0.0.1",
      httpPort: served.port,
      archive: { urlPath: "/corrupt/rootimg.tar.gz", bytes: data.length, chunkBytes: chunk, chunks: Math.ceil(data.length / chunk) },
    });
    served.corruptNext = 2 * chunk;
    const r = await sh(env, `SUMS_OK=1; XC_RANGES=3; cp ${JSON.stringify(join(dir, "rootimg.tar.gz.sha256"))} "$XC_RUN/sums"; stream_ranges | sha256sum`);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split(" ")[0]).toBe(createHash("sha256").update(data).digest("hex"));
    expect(served.corruptNext).toBe(-1); // the corrupted answer was sent
    expect(readFileSync(join(r.run, "clone.log"), "utf8")).toContain("chunk 2: checksum mismatch, fetching it again");
  }, 60_000);

  for (const stream of ["stream_ranges", "stream_archive"]) {
    test(`a zstd archive: ${stream} | zstd -dc | tar -x restores the tree (an image with zstd)`, async () => {
      if (!Bun.which("zstd")) throw new Error("zstd is not installed (scripts/setup-debian.sh)");
      const layout = normalizeLayout(goldenGpt().layout, "golden-vm");
      const env = planEnv(layout, {
        master: "127.0.0.1",
        httpPort: served.port,
        archive: { urlPath: "/zst/rootimg.tar.zst", bytes: zstdArchive.length, chunkBytes: 65536, chunks: Math.ceil(zstdArchive.length / 65536) },
        tools: { ...planInput(layout).tools, decompress: "zstd" },
      });
      const r = await sh(
        env,
        `FETCHER=curl; sleep() { :; }; fetch "$XC_ARCHIVE.sha256" "$XC_RUN/sums" && SUMS_OK=1; mkdir "$XC_RUN/t"; ${stream} | $XC_DECOMPRESS | tar -x -f - -C "$XC_RUN/t"; echo "rc=$?"; sha256sum <"$XC_RUN/t/big"; cat "$XC_RUN/t/etc/hostname"`,
      );
      expect(r.out, r.err).toBe(`rc=0\n${createHash("sha256").update(data).digest("hex")}  -\ngolden\n`);
      expect(env).toContain("XC_DECOMPRESS='zstd -dc'");
    }, 60_000);
  }

  test("stream_ranges: a server that ignores byte ranges stops the copy at once, saying so", async () => {
    const layout = normalizeLayout(goldenGpt().layout, "golden-vm");
    const env = planEnv(layout, {
      master: "127.0.0.1",
      httpPort: served.port,
      archive: { urlPath: "/plain/rootimg.tar.gz", bytes: 65536, chunkBytes: 16384, chunks: 4 },
    });
    const r = await sh(env, `SUMS_OK=; stream_ranges >/dev/null; echo "rc=$?"; cat "$CHUNKS/why"`);
    expect(r.out, r.err).toMatch(/^rc=1\nthe web server on 127\.0\.0\.1:\d+ ignores byte ranges \(answered 200, not 206\)/);
    expect(readFileSync(join(r.run, "clone.log"), "utf8")).not.toContain("retry");
  });

  test("a server that ignores byte ranges stops the copy at once, saying so, instead of 60 retries", async () => {
    const layout = normalizeLayout(goldenGpt().layout, "golden-vm");
    for (const fetcher of ["curl", "python3", "bash"]) {
      const env = planEnv(layout, {
        master: "127.0.0.1",
        httpPort: served.port,
        archive: { urlPath: "/plain/rootimg.tar.gz", bytes: 65536, chunkBytes: 16384, chunks: 4 },
      });
      const r = await sh(
        env,
        `FETCHER=${fetcher}; SUMS_OK=; fetch "$XC_ARCHIVE" "$XC_RUN/x" 0 99; echo "rc=$?"; stream_archive >/dev/null; echo "stream=$?"; cat "$CHUNKS/why"`,
      );
      expect(r.out, `${fetcher}: ${r.err}`).toMatch(/^rc=3\nstream=1\nthe web server on 127\.0\.0\.1:\d+ ignores byte ranges \(answered 200, not 206\)/);
      expect(readFileSync(join(r.run, "clone.log"), "utf8")).not.toContain("retry");
    }
  });

  test("an HTTP error is told apart from an unreachable server", async () => {
    const layout = normalizeLayout(goldenGpt().layout, "golden-vm");
    for (const fetcher of ["curl", "wget", "python3", "bash"]) {
      const env = planEnv(layout, { master: "127.0.0.1", httpPort: served.port });
      const r = await sh(env, `FETCHER=${fetcher}; fetch /nope "$XC_RUN/x"; echo "rc=$?"; XC_HTTP_PORT=1; fetch /nope "$XC_RUN/x"; echo "rc=$?"`);
      expect(r.out, `${fetcher}: ${r.err}`).toBe("rc=2\nrc=1\n");
    }
  });
});
