/**
 * The URL path under which the web server publishes a file in installdir: xCAT serves
 * installdir as /install whatever its real location (Template.pm and anaconda.pm replace the
 * installdir prefix by /install), so media at /srv/xcat/install/rhels9.4/x86_64 is fetched as
 * http://<server>:<port>/install/rhels9.4/x86_64.
 */
export function httpPath(path: string, installdir: string): string {
  const root = installdir.replace(/\/+$/, "");
  if (path === root) return "/install";
  if (path.startsWith(`${root}/`)) return `/install${path.slice(root.length)}`;
  return path;
}
