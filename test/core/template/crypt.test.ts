import { describe, expect, test } from "bun:test";
import { isCryptHash, randomSalt, shaCrypt } from "../../../src/core/template/crypt";

/** glibc's crypt(3) through Python's crypt module (one process for all cases): independent of our code. */
function glibc(cases: [string, string][]): string[] {
  const script = "import crypt,json,sys\nprint(json.dumps([crypt.crypt(p, s) for p, s in json.load(sys.stdin)]))";
  const py = Bun.spawnSync(["python3", "-W", "ignore", "-c", script], { stdin: new Blob([JSON.stringify(cases)]) });
  return JSON.parse(py.stdout.toString());
}

describe("SHA-crypt ($5$, $6$)", () => {
  test("the specification's test vectors (rounds=10000, salt cut to 16 characters)", () => {
    expect(shaCrypt("Hello world!", "saltstringsaltstring", "sha512", 10000)).toBe(
      "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
    );
    expect(shaCrypt("Hello world!", "saltstringsaltstring", "sha256", 10000)).toBe(
      "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
    );
    expect(shaCrypt("Hello world!", "saltstring", "sha512")).toBe(
      "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
    );
  });

  test("matches glibc crypt(3) and openssl passwd for empty, long and non-ASCII passwords", () => {
    const passwords = ["cluster", "", "p".repeat(200), "ünïcødé pässwörd", "with $dollar and `backquote`"];
    const runs = passwords.flatMap((pw) => (["sha512", "sha256"] as const).map((m) => ({ pw, m, salt: randomSalt() })));
    const ours = runs.map((r) => shaCrypt(r.pw, r.salt, r.m));
    expect(ours).toEqual(glibc(runs.map((r) => [r.pw, `${r.m === "sha512" ? "$6$" : "$5$"}${r.salt}`])));
    const r = runs[0] as (typeof runs)[number];
    expect(ours[0]).toBe(Bun.spawnSync(["openssl", "passwd", "-6", "-salt", r.salt, r.pw]).stdout.toString().trim());
  }, 30_000);

  test("salts come from the crypt alphabet; hashes are recognised", () => {
    for (let i = 0; i < 50; i++) expect(randomSalt()).toMatch(/^[./0-9A-Za-z]{16}$/);
    expect(isCryptHash("$6$abc$def")).toBe(true);
    expect(isCryptHash("$1$abc$def")).toBe(true);
    expect(isCryptHash("cluster")).toBe(false);
  });
});
