import { describe, expect, test } from "bun:test";
import { isCryptHash, randomSalt, shaCrypt } from "../../../src/core/template/crypt";

/** glibc's crypt(3) through Python's crypt module: an implementation independent of ours. */
function glibc(password: string, setting: string): string {
  const py = Bun.spawnSync(["python3", "-W", "ignore", "-c", "import crypt,sys; print(crypt.crypt(sys.argv[1], sys.argv[2]))", password, setting]);
  return py.stdout.toString().trim();
}

describe("SHA-crypt ($5$, $6$)", () => {
  test("the specification's test vectors (rounds=10000, salt cut to 16 characters)", () => {
    expect(shaCrypt("Hello world!", "saltstringsaltstring", "sha512", 10000)).toBe(
      "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
    );
    expect(shaCrypt("Hello world!", "saltstringsaltstring", "sha256", 10000)).toBe("$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA");
    expect(shaCrypt("Hello world!", "saltstring", "sha512")).toBe("$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1");
  });

  test("matches glibc crypt(3) and openssl passwd for empty, long and non-ASCII passwords", () => {
    const cases = ["cluster", "", "p".repeat(200), "ünïcødé pässwörd", "with $dollar and `backquote`"];
    for (const pw of cases) {
      for (const [m, prefix] of [["sha512", "$6$"], ["sha256", "$5$"]] as const) {
        const salt = randomSalt();
        const ours = shaCrypt(pw, salt, m);
        expect(ours).toBe(glibc(pw, `${prefix}${salt}`));
        if (pw !== "") expect(ours).toBe(Bun.spawnSync(["openssl", "passwd", m === "sha512" ? "-6" : "-5", "-salt", salt, pw]).stdout.toString().trim());
      }
    }
  });

  test("salts come from the crypt alphabet; hashes are recognised", () => {
    for (let i = 0; i < 50; i++) expect(randomSalt()).toMatch(/^[./0-9A-Za-z]{16}$/);
    expect(isCryptHash("$6$abc$def")).toBe(true);
    expect(isCryptHash("$1$abc$def")).toBe(true);
    expect(isCryptHash("cluster")).toBe(false);
  });
});
