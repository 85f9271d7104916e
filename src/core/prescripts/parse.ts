/**
 * xCAT's prescripts.begin / prescripts.end value (man5 prescripts; xCAT-server/lib/xcat/plugins/
 * prescripts.pm parseprescripts): `[action1:]s1,s2...[|action2:s3,s4...]`. A part without an
 * action applies to every action; a part with one applies when it equals the nodeset action's
 * word before `=` (`osimage=<img>` → `osimage`). xCAT matches the action literally, so a site's
 * `install:` part runs for `nodeset <nr> install` only, not for `osimage=` of an install image;
 * xcimg does the same, so a migrated table runs exactly what it ran before.
 */
export function scriptsForAction(value: string | undefined, action: string): string[] {
  const word = action.split("=")[0] ?? action;
  const out: string[] = [];
  for (const part of (value ?? "").split("|")) {
    const colon = part.indexOf(":");
    let list = part;
    if (colon >= 0) {
      if (part.slice(0, colon).trim() !== word) continue;
      list = part.slice(colon + 1);
    }
    for (const s of list.split(",")) if (s.trim()) out.push(s.trim());
  }
  return out;
}

// A script is a file under <installdir>/prescripts: plain segments, no `..`, nothing a shell
// would read (xCAT builds a shell command line from the name; xcimg runs the file directly)
const SEGMENT = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$/;

/** A name that is a relative path inside the prescripts directory. */
export function isPrescriptName(name: string): boolean {
  return name.split("/").every((seg) => SEGMENT.test(seg));
}

/**
 * xCAT's `#xCAT setting: MAX_INSTANCE=<n>` line (prescripts.pm greps for
 * `#+xCAT setting: *MAX_INSTANCE=`): the script runs once per node, at most n at a time.
 * Without it, once for all the nodes. 0 means no such line.
 */
export function maxInstance(script: string): number {
  const m = /#+xCAT setting: *MAX_INSTANCE=\s*(\d+)/.exec(script);
  return m ? Number(m[1]) : 0;
}
