/**
 * What only the site's own templates may do (files.ts says which those are). An answer file
 * is served over HTTP to anything on the provisioning network, so a template from a bundle
 * must not be able to pull the site's secrets into it, nor run commands on the management
 * node. xCAT has no such line: any template may read any table.
 *
 * - `#TABLE:...#` of a secret-looking column (passwd.password, a BMC or switch password, an
 *   SNMP community, ...), in any table;
 * - `#CRYPT:...#` of anything but the system accounts' password (passwd key=system): the hash
 *   of root's password is what every install template needs (xCAT's own use `#CRYPT:passwd:
 *   key=system,username=root:password#`), a hash of a BMC password is an offline-cracking target;
 * - `#COMMAND:...#`, even with XCIMG_TEMPLATE_COMMANDS=1;
 * - `#ENV:x#` / `#XCATVAR:x#` of a secret-looking environment variable (xcimg's own variables
 *   are always fine).
 */
const SECRET_NAME = /pass|secret|community|privacy|token|credential|private/i;

export function isSecretColumn(table: string, column: string): boolean {
  return SECRET_NAME.test(column) || (table === "passwd" && column !== "username" && column !== "key" && column !== "comments" && column !== "disable");
}

export function isSecretVariable(name: string): boolean {
  return SECRET_NAME.test(name) || /(^|_)KEY($|_)/i.test(name);
}

/** #CRYPT# of the system accounts' passwords (passwd key=system) is what install templates need. */
export function isStandardCrypt(table: string, pairs: Record<string, string>, column: string): boolean {
  return table === "passwd" && column === "password" && pairs.key === "system";
}

/** The site key that lets listed files use all directives, as the site's own templates do. */
export const TRUSTED_TEMPLATES_KEY = "trustedtemplates";

export function refusalHint(file: string): string {
  return `review ${file}; if the site trusts it, list it (or its directory) in site.${TRUSTED_TEMPLATES_KEY}: 'xcimg table set site key=${TRUSTED_TEMPLATES_KEY} value=${file}' (comma-separated for several)`;
}
