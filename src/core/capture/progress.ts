import type { Logger } from "../log";

/** Bytes for people: 1.23 GB (decimal units, as rates are usually quoted). */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/**
 * A progress line (bytes, rate, ETA) for a TTY; the logger draws it only there. The rate is
 * averaged over the last few seconds so it follows changes in speed; the ETA needs an
 * estimate of the total (the used space of the captured filesystems, for a full capture).
 */
export class Progress {
  private readonly started = performance.now();
  private samples: { t: number; bytes: number }[] = [];

  constructor(
    private readonly log: Logger,
    private readonly label: string,
    private readonly estimate: number | null,
  ) {}

  draw(bytes: number): void {
    const t = performance.now();
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - (this.samples[0] as { t: number }).t > 5000) this.samples.shift();
    const first = this.samples[0] as { t: number; bytes: number };
    const dt = (t - first.t) / 1000;
    const rate = dt > 0 ? (bytes - first.bytes) / dt : 0;
    let line = `${this.label}: ${formatBytes(bytes)}`;
    if (rate > 0) line += ` at ${formatBytes(rate)}/s`;
    if (this.estimate && rate > 0 && bytes < this.estimate) line += `, ETA ${formatDuration((this.estimate - bytes) / rate)}`;
    line += ` (${formatDuration((t - this.started) / 1000)})`;
    this.log.progress(line);
  }

  done(): void {
    this.log.progressDone();
  }
}
