import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../../src/core/config/schema";
import type { Db } from "../../../src/core/db/open";
import { shaCrypt } from "../../../src/core/template/crypt";
import { openPolicy } from "../../../src/core/template/files";
import { type RenderRequest, renderTemplate, TemplateError, TemplatePolicyError } from "../../../src/core/template/render";
import { dbTemplateTables } from "../../../src/core/template/tables";
import { FIXTURES, installSite, TEMPLATES } from "../../helpers/install-site";
import type { Sandbox } from "../../helpers/sandbox";

let sb: Sandbox;
let db: Db;
let config: Config;
beforeAll(async () => {
  ({ sb, db, config } = await installSite("tmpl"));
});
afterAll(() => {
  db?.close();
  sb?.cleanup();
});

const FIXED_SALT = "xcimgGoldenSalt1";

function req(node: string, template: string, extra: Partial<RenderRequest> = {}): RenderRequest {
  const tables = dbTemplateTables(db, config);
  const xcatmaster = tables.nodeValue("noderes", node, "xcatmaster") ?? config.master;
  return {
    node,
    template: join(TEMPLATES, template),
    pkglist: join(TEMPLATES, "compute.pkglist"),
    platform: "rh",
    pkgdirs: [join(config.installdir, "rhels9.4", "x86_64"), join(config.installdir, "updates", "rhels9.4")],
    installdir: config.installdir,
    files: openPolicy([TEMPLATES, sb.dir]),
    httpPort: 8080,
    server: tables.nodeValue("noderes", node, "nfsserver") ?? xcatmaster,
    tables,
    vars: { XCATMASTER: xcatmaster, IMAGENAME: "rhels9.4-x86_64-install-compute", PERSKCMDLINE: "console=ttyS0" },
    env: { XCIMG_TEST_SITE: "golden-site" },
    allowCommands: false,
    salt: () => FIXED_SALT,
    ...extra,
  };
}

/** Compare with the checked-in golden file (UPDATE_GOLDEN=1 rewrites them after a reviewed change). */
function golden(name: string, actual: string): void {
  const file = join(FIXTURES, "golden", name);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) {
    mkdirSync(join(FIXTURES, "golden"), { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, "utf8"));
}

function renderError(r: RenderRequest): TemplateError {
  try {
    renderTemplate(r);
  } catch (e) {
    if (e instanceof TemplateError) return e;
    throw e;
  }
  throw new Error("render succeeded but should have failed");
}

describe("template directives, per node", () => {
  test("every directive for a node with its own rows (cn01)", () => {
    const out = renderTemplate(req("cn01", "all.tmpl"));
    golden("all.cn01", out);
    expect(out).toContain("node os:      rhels9.4");
    expect(out).toContain("nfs server:   10.0.0.5");
    expect(out).toContain("network --onboot=yes --bootproto=dhcp --device=52:54:00:aa:00:01");
    expect(out).toContain(`rootpw --iscrypted ${shaCrypt("cluster", FIXED_SALT, "sha512")}`);
    expect(out).toContain("url --url http://10.0.0.5:8080/install/rhels9.4/x86_64");
  });

  test("the same template for a node that inherits from its group (cn02.cluster)", () => {
    const out = renderTemplate(req("cn02.cluster", "all.tmpl"));
    golden("all.cn02", out);
    expect(out).toContain("node os:      rocky9.4"); // nodetype row of group rack2
    expect(out).toContain("nfs server:   10.0.2.2"); // nfsserver unset → noderes.xcatmaster (xCAT's replacement)
    expect(out).toContain("(short cn02)");
    expect(out).toContain("mac:          52:54:00:aa:00:02"); // the mac!host entry naming this node
    expect(out).toContain("blank ok:     []");
  });

  test("SLES list includes: patterns, packages, packages to remove", () => {
    const out = renderTemplate(req("cn01", "sles.tmpl", { platform: "sles" }));
    golden("sles.cn01", out);
    expect(out).toContain("<pattern>^minimal-environment</pattern>");
    expect(out).toContain("<package>chrony</package>"); // nested #INCLUDE: keeps the list mode
    expect(out).toContain("<remove-packages>\n<package>firewalld</package>\n</remove-packages>");
  });

  test("Debian: package list as one line, mirror spec from pkgdir", () => {
    const out = renderTemplate(req("cn01", "preseed.tmpl", { platform: "debian" }));
    golden("preseed.cn01", out);
    expect(out.split("\n")[0]).toBe("d-i pkgsel/include string openssh-server chrony");
  });

  test("include paths may hold #TABLE#, #XCATVAR# and #ENV# directives (xCAT's scripts use them)", () => {
    const out = renderTemplate(req("cn01", "include-path.tmpl", { env: { XCIMG_TEST_INC_DIR: join(TEMPLATES, "inc") } }));
    expect(out).toBe("arch-specific part for cn01 (chosen by a table value)\none-line include\n");
  });

  test("a table value that looks like a directive is written out, never expanded", async () => {
    const r = await sb.run("node", "set", "cn01", "usercomment=#COMMAND:touch /tmp/xcimg-pwned#");
    expect(r.code).toBe(0);
    const out = renderTemplate(req("cn01", "injection.tmpl"));
    expect(out).toBe("comment: #COMMAND:touch /tmp/xcimg-pwned#\n");
  });

  test("an already hashed password is passed through; cryptmethod sha256 is honoured", () => {
    db.sqlite.exec(`INSERT OR REPLACE INTO passwd ("key","username","password") VALUES ('system','hashed','$6$abc$xyz')`);
    db.sqlite.exec(`INSERT OR REPLACE INTO passwd ("key","username","password","cryptmethod") VALUES ('system','s256','secret','sha256')`);
    writeFileSync(join(sb.dir, "pw.tmpl"), "#CRYPT:passwd:key=system,username=hashed:password#\n#CRYPT:passwd:key=system,username=s256:password#\n");
    const out = renderTemplate(req("cn01", "", { template: join(sb.dir, "pw.tmpl") }));
    expect(out).toBe(`$6$abc$xyz\n${shaCrypt("secret", FIXED_SALT, "sha256")}\n`);
  });
});

describe("template errors name the node, the file and the line", () => {
  test("a missing table value", () => {
    const e = renderError(req("cn01", "missing-value.tmpl"));
    expect(e.file).toBe(join(TEMPLATES, "missing-value.tmpl"));
    expect(e.line).toBe(2);
    expect(e.message).toBe(
      `cn01: ${join(TEMPLATES, "missing-value.tmpl")}:2: Unable to find requested field <value> from table <site>, with key <key=nosuchkey>`,
    );
    expect(e.hint).toContain("xcimg table set site key=nosuchkey");
    expect(e.exitCode).toBe(65);
  });

  test("an unreadable include two levels down names the including file and its line", () => {
    const e = renderError(req("cn02.cluster", "bad-include.tmpl"));
    expect(e.node).toBe("cn02.cluster");
    expect(e.file).toBe(join(TEMPLATES, "inc", "bad-nested.inc"));
    expect(e.line).toBe(3);
    expect(e.detail).toBe(`cannot read included file ${join(TEMPLATES, "inc", "does-not-exist.inc")}: no such file`);
  });

  test("a missing per-node value names the node", () => {
    writeFileSync(join(sb.dir, "arch.tmpl"), "\n\n\nserial: #TABLE:nodehm:$NODE:serialspeed#\n");
    expect(renderTemplate(req("cn01", "", { template: join(sb.dir, "arch.tmpl") }))).toContain("serial: 115200");
    const e = renderError(req("cn02.cluster", "", { template: join(sb.dir, "arch.tmpl") }));
    expect(e.message).toBe(
      `cn02.cluster: ${join(sb.dir, "arch.tmpl")}:4: Unable to find requested field <serialspeed> from table <nodehm>, with key <node=cn02.cluster>`,
    );
  });

  test("an unset #ENV# variable, an unknown table, a missing root password", () => {
    writeFileSync(join(sb.dir, "env.tmpl"), "a\n#ENV:XCIMG_NOT_SET_ANYWHERE#\n");
    expect(renderError(req("cn01", "", { template: join(sb.dir, "env.tmpl") })).message).toEndWith("env.tmpl:2: #ENV:XCIMG_NOT_SET_ANYWHERE# is not set");
    writeFileSync(join(sb.dir, "tab.tmpl"), "#TABLE:iscsi:$NODE:server#\n");
    expect(renderError(req("cn01", "", { template: join(sb.dir, "tab.tmpl") })).detail).toBe("Unable to open table named iscsi");
    writeFileSync(join(sb.dir, "pw2.tmpl"), "x\ny\n#CRYPT:passwd:key=system,username=admin:password#\n");
    const e = renderError(req("cn01", "", { template: join(sb.dir, "pw2.tmpl") }));
    expect([e.line, e.detail]).toEqual([3, "no password in table passwd for key=system,username=admin"]);
  });

  test("#COMMAND# is refused unless allowed, then runs with NODE set", () => {
    const e = renderError(req("cn01", "command.tmpl"));
    expect(e.line).toBe(1);
    expect(e.hint).toContain("XCIMG_TEMPLATE_COMMANDS=1");
    expect(renderTemplate(req("cn01", "command.tmpl", { allowCommands: true }))).toBe("uname: hello from cn01\n");
  });

  test("an include cycle", () => {
    const e = renderError(req("cn01", "cycle.tmpl"));
    expect(e.detail).toStartWith("include cycle: ");
    expect(e.detail).toContain("cycle-a.inc -> ");
  });

  test("a missing template", () => {
    const e = renderError(req("cn01", "nope.tmpl"));
    expect(e.message).toBe(`cn01: ${join(TEMPLATES, "nope.tmpl")}:0: cannot read template: no such file`);
  });
});

describe("without a root password in the passwd table", () => {
  test("#CRYPT# says what to do, #CRYPTORLOCKED# locks the account", async () => {
    const { sb: s2, db: db2, config: c2 } = await installSite("nopasswd");
    try {
      db2.sqlite.exec("DELETE FROM passwd");
      writeFileSync(join(s2.dir, "p.tmpl"), "#CRYPTORLOCKED:passwd:key=system,username=root:password#\n#CRYPT:passwd:key=system,username=root:password#\n");
      const base = { ...req("cn01", ""), tables: dbTemplateTables(db2, c2), template: join(s2.dir, "p.tmpl"), files: openPolicy([s2.dir]) };
      const e = renderError(base);
      expect([e.line, e.detail]).toEqual([2, "no password in table passwd for key=system,username=root"]);
      expect(e.hint).toContain("xcimg table set passwd key=system,username=root password=");
      expect(e.hint).toContain("use #CRYPTORLOCKED:...# to leave root locked");
      writeFileSync(join(s2.dir, "p.tmpl"), "#CRYPTORLOCKED:passwd:key=system,username=root:password#\n");
      expect(renderTemplate(base)).toBe("*\n");
    } finally {
      db2.close();
      s2.cleanup();
    }
  });
});

describe("templates that are not the site's own (core/template/secrets.ts)", () => {
  /** sb.dir/own is the site's template directory; sb.dir/other is readable but not the site's. */
  function policyReq(template: string, extra: Partial<RenderRequest> = {}): RenderRequest {
    mkdirSync(join(sb.dir, "own"), { recursive: true });
    const files = { ...openPolicy([sb.dir]), ownDirs: openPolicy([join(sb.dir, "own")]).ownDirs };
    return req("cn01", "", { template, files, ...extra });
  }
  const write = (rel: string, text: string) => {
    mkdirSync(join(sb.dir, rel, ".."), { recursive: true });
    writeFileSync(join(sb.dir, rel), text);
    return join(sb.dir, rel);
  };

  test("secret columns, other #CRYPT# keys, #COMMAND# (even allowed) and secret-looking variables are refused; the rest works", () => {
    const t = write("other/a.tmpl", "#TABLE:nodehm:$NODE:serialspeed# #CRYPT:passwd:key=system,username=root:password# #ENV:XCIMG_TEST_SITE#\n");
    expect(renderTemplate(policyReq(t))).toBe(`115200 ${shaCrypt("cluster", FIXED_SALT, "sha512")} golden-site\n`);
    for (const [line, why] of [
      ["#TABLE:passwd:key=system,username=root:password#", "read passwd.password"],
      ["#TABLEBLANKOKAY:site:key=x:password#", "read site.password"],
      ["#CRYPT:passwd:key=ipmi,username=ADMIN:password#", "hash passwords other than passwd key=system"],
      ["#COMMAND:id#", "run commands on the management node"],
      ["#ENV:DB_PASSWORD#", "read secret-looking variables"],
      ["#XCATVAR:API_TOKEN#", "read secret-looking variables"],
    ] as const) {
      const f = write("other/b.tmpl", `ok\n${line}\n`);
      const e = renderError(policyReq(f, { allowCommands: true, env: { DB_PASSWORD: "pw", API_TOKEN: "t" } }));
      expect(e).toBeInstanceOf(TemplatePolicyError);
      expect([e.file, e.line]).toEqual([f, 2]);
      expect(e.detail).toBe(
        `${line} refused: ${f} is not in the site's template directory (${join(sb.dir, "own")}), and only the site's own templates may ${why}`,
      );
      expect(e.hint).toContain("site.trustedtemplates");
    }
  });

  test("a site file included by a foreign template, and a foreign include's first line joined to a site line, are foreign", () => {
    write("own/secret.inc", "#TABLE:passwd:key=system,username=root:password#\n");
    const foreignTop = write("other/top.tmpl", `#INCLUDE:${join(sb.dir, "own/secret.inc")}#\n`);
    expect(renderError(policyReq(foreignTop)).detail).toContain(`refused: ${foreignTop} is not in the site's template directory`);
    const foreignInc = write("other/first.inc", "#TABLE:passwd:key=system,username=root:password#\n");
    const siteTop = write("own/top.tmpl", `rootpw #INCLUDE:${foreignInc}#\n`);
    const e = renderError(policyReq(siteTop));
    expect([e.file, e.line]).toEqual([siteTop, 1]);
    expect(e.detail).toContain(`refused: ${foreignInc} is not in the site's template directory`);
    // and the site's own include, from the site's own template, reads it
    const fine = write("own/fine.tmpl", `rootpw #INCLUDE:${join(sb.dir, "own/secret.inc")}#\n`);
    expect(renderTemplate(policyReq(fine))).toBe("rootpw cluster\n");
  });

  test("an oversized include is refused", () => {
    const big = write("own/big.inc", "x".repeat((4 << 20) + 1));
    const e = renderError(policyReq(write("own/big.tmpl", `#INCLUDE:${big}#\n`)));
    expect(e.detail).toBe(`refused to read ${big}: it is ${(4 << 20) + 1} bytes; templates and includes may be at most 4 MiB`);
  });
});
