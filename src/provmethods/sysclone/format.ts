import type { SourceLayout } from "./layout";
import { MiB } from "./layout";
import type { ClonePlan, TooSmall } from "./planner";

/** Human-readable plans for `xcimg clone --dry-run` and the summary of a clone. */
export function humanBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} bytes` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

const mibText = (n: number) => (n >= 10 * 1024 ? `${(n / 1024).toFixed(1)} GiB` : `${n} MiB`);

export function tooSmallText(t: TooSmall, image: string, disk = "the disk"): string {
  return `${disk} has ${t.diskBytes} bytes (${humanBytes(t.diskBytes)}); image ${image} needs at least ${t.neededBytes} bytes (${humanBytes(t.neededBytes)}) with ${t.grower} shrunk to its minimum`;
}

export function planText(p: ClonePlan | TooSmall, layout: SourceLayout, image: string): string[] {
  if ("tooSmall" in p) return [`  does not fit: ${tooSmallText(p, image)}`];
  const lines: string[] = [];
  const label = p.label === "gpt" ? "GPT" : "MBR";
  lines.push(
    `  ${label} on a ${humanBytes(p.diskBytes)} disk${p.variant.policy === 2 ? " (every data filesystem at its minimum: the disk is smaller than the golden sizes)" : ""}:`,
  );
  const fsById = new Map(p.filesystems.map((f) => [f.id, f]));
  const row = (num: string, size: number, golden: number, what: string) =>
    `    ${num.padEnd(4)} ${mibText(size).padStart(10)}  (golden ${mibText(golden)})  ${what}`;
  for (const part of p.partitions) {
    const fs = fsById.get(`p${part.number}`);
    lines.push(row(String(part.number), part.sizeMiB, part.goldenMiB, `${part.what}${fs ? note(fs) : ""}`));
    const src = layout.partitions.find((x) => x.number === part.number);
    if (src?.role === "lvm" && src.vg) {
      for (const lv of layout.vgs.find((v) => v.name === src.vg)?.lvs ?? []) {
        const f = fsById.get(`lv:${lv.vg}/${lv.name}`);
        const what = f ? (f.fstype === "swap" ? "swap" : `${f.fstype} ${f.mountpoint ?? "(not mounted)"}`) : "(created empty)";
        lines.push(row(`  ${lv.name}`, f?.sizeMiB ?? Math.ceil(lv.bytes / MiB), Math.ceil(lv.bytes / MiB), `${what}${f ? note(f) : ""}`));
      }
    }
  }
  lines.push(`  smallest disk this image fits: ${p.minDiskBytes} bytes (${humanBytes(p.minDiskBytes)})`);
  return lines;
}

function note(f: ClonePlan["filesystems"][number]): string {
  const used = f.usedBytes === null ? "" : `, ${humanBytes(f.usedBytes)} used`;
  if (f.change === "grows") return ` — grows${used}`;
  if (f.change === "shrinks") return ` — shrinks (minimum ${mibText(f.minMiB)}${used})`;
  return used ? ` (${used.slice(2)})` : "";
}
