/**
 * xCAT's tables, with the column names and order of perl-xCAT/xCAT/Schema.pm (column order is
 * tabdump order) and their keys. Every column is TEXT, as in xCAT's SQLite backend; NULL means
 * "not set" and empty strings are stored as NULL, as xCAT's getAllEntries normalises them.
 */
export interface TableSpec {
  cols: readonly string[];
  keys: readonly string[];
  /** Columns a row must have (besides keys), as in Schema.pm `required`. */
  required?: readonly string[];
  desc: string;
}

export const TABLES = {
  site: { cols: ["key", "value", "comments", "disable"], keys: ["key"], desc: "Cluster-wide settings (installdir, tftpdir, master, ...)" },
  nodelist: {
    cols: ["node", "groups", "status", "statustime", "appstatus", "appstatustime", "primarysn", "hidden", "updatestatus", "updatestatustime", "zonename", "comments", "disable"],
    keys: ["node"],
    desc: "The list of nodes and the groups they belong to",
  },
  nodegroup: {
    cols: ["groupname", "grouptype", "members", "membergroups", "wherevals", "comments", "disable"],
    keys: ["groupname"],
    desc: "Group definitions: static, or dynamic by attribute values",
  },
  nodetype: {
    cols: ["node", "os", "arch", "profile", "provmethod", "supportedarchs", "nodetype", "comments", "disable"],
    keys: ["node"],
    desc: "OS, architecture, profile and provisioning method (osimage) of each node",
  },
  noderes: {
    cols: ["node", "servicenode", "netboot", "tftpserver", "tftpdir", "nfsserver", "monserver", "nfsdir", "installnic", "primarynic", "discoverynics", "cmdinterface", "xcatmaster", "current_osimage", "next_osimage", "nimserver", "routenames", "nameservers", "proxydhcp", "syslog", "comments", "disable"],
    keys: ["node"],
    desc: "Resources and settings used when provisioning each node (netboot loader, servers, NICs)",
  },
  nodehm: {
    cols: ["node", "power", "mgt", "cons", "termserver", "termport", "conserver", "serialport", "serialspeed", "serialflow", "getmac", "cmdmapping", "consoleondemand", "consoleenabled", "comments", "disable"],
    keys: ["node"],
    desc: "Hardware management: power, console, serial port and speed",
  },
  mac: { cols: ["node", "interface", "mac", "comments", "disable"], keys: ["node"], desc: "MAC addresses of the nodes' install NICs" },
  hosts: { cols: ["node", "ip", "hostnames", "otherinterfaces", "comments", "disable"], keys: ["node"], desc: "IP addresses and host names of the nodes" },
  chain: { cols: ["node", "currstate", "currchain", "chain", "ondiscover", "comments", "disable"], keys: ["node"], desc: "Current boot state of each node" },
  bootparams: {
    cols: ["node", "kernel", "initrd", "kcmdline", "addkcmdline", "dhcpstatements", "adddhcpstatements", "comments", "disable"],
    keys: ["node"],
    desc: "Kernel, initrd and command line of each node's next network boot",
  },
  osimage: {
    cols: ["imagename", "groups", "profile", "imagetype", "description", "provmethod", "rootfstype", "nfsrootopts", "osdistroname", "osupdatename", "cfmdir", "osname", "osvers", "osarch", "synclists", "postscripts", "postbootscripts", "serverrole", "isdeletable", "kitcomponents", "environvar", "comments", "disable"],
    keys: ["imagename"],
    desc: "OS images: provisioning method, OS version, architecture, profile",
  },
  linuximage: {
    cols: ["imagename", "template", "boottarget", "addkcmdline", "pkglist", "pkgdir", "otherpkglist", "otherpkgdir", "exlist", "postinstall", "rootimgdir", "kerneldir", "nodebootif", "otherifce", "netdrivers", "kernelver", "krpmver", "permission", "dump", "crashkernelsize", "partitionfile", "driverupdatesrc", "comments", "disable"],
    keys: ["imagename"],
    desc: "Linux-specific image attributes: template, lists, root image directory, kernel",
  },
  litefile: { cols: ["image", "file", "options", "comments", "disable"], keys: ["image", "file"], desc: "Statelite files and their options (tmpfs, persistent, ro, link, ...)" },
  litetree: {
    cols: ["priority", "image", "directory", "mntopts", "comments", "disable"],
    keys: ["priority"],
    required: ["directory"],
    desc: "Where statelite nodes find the initial contents of litefile entries",
  },
  statelite: {
    cols: ["node", "image", "statemnt", "mntopts", "comments", "disable"],
    keys: ["node"],
    required: ["statemnt"],
    desc: "Where each statelite node keeps its persistent files (server:/path)",
  },
  postscripts: { cols: ["node", "postscripts", "postbootscripts", "comments", "disable"], keys: ["node"], desc: "Scripts each node runs after install or boot" },
  passwd: {
    cols: ["key", "username", "password", "cryptmethod", "authdomain", "comments", "disable"],
    keys: ["key", "username"],
    desc: "Default user ids and passwords (key=system, username=root: the nodes' root password)",
  },
  // stored for the image and boot workflows that read them in xCAT (xcimg keeps them, so tabdump/tabrestore round-trip a site)
  servicenode: {
    cols: ["node", "nameserver", "dhcpserver", "tftpserver", "nfsserver", "conserver", "monserver", "ldapserver", "ntpserver", "ftpserver", "nimserver", "ipforward", "dhcpinterfaces", "proxydhcp", "comments", "disable"],
    keys: ["node"],
    desc: "Service nodes and the services set up on them",
  },
  networks: {
    cols: ["netname", "net", "mask", "mgtifname", "gateway", "dhcpserver", "tftpserver", "nameservers", "ntpservers", "logservers", "dynamicrange", "staticrange", "staticrangeincrement", "nodehostname", "ddnsdomain", "vlanid", "domain", "mtu", "comments", "disable"],
    keys: ["net", "mask"],
    desc: "The networks in the cluster: address, mask, gateway, DHCP ranges and servers (makedhcp reads it)",
  },
  nics: {
    cols: ["node", "nicips", "nichostnamesuffixes", "nichostnameprefixes", "nictypes", "niccustomscripts", "nicnetworks", "nicaliases", "nicextraparams", "nicdevices", "nicsadapter", "comments", "disable"],
    keys: ["node"],
    desc: "Additional NICs of each node (IPs, host names, networks)",
  },
  prescripts: { cols: ["node", "begin", "end", "comments", "disable"], keys: ["node"], desc: "Scripts run at the beginning and end of nodeset" },
  kit: {
    cols: ["kitname", "basename", "description", "version", "release", "ostype", "isinternal", "kitdeployparams", "kitdir", "comments", "disable"],
    keys: ["kitname"],
    desc: "Kits added to the cluster",
  },
  kitrepo: {
    cols: ["kitreponame", "kitname", "osbasename", "osmajorversion", "osminorversion", "osarch", "compat_osbasenames", "kitrepodir", "comments", "disable"],
    keys: ["kitreponame"],
    desc: "Package repositories of the kits",
  },
  kitcomponent: {
    cols: ["kitcompname", "description", "kitname", "kitreponame", "basename", "version", "release", "serverroles", "kitpkgdeps", "prerequisite", "driverpacks", "kitcompdeps", "postbootscripts", "genimage_postinstall", "exlist", "comments", "disable"],
    keys: ["kitcompname"],
    desc: "Kit components (what osimage.kitcomponents names)",
  },
} as const satisfies Record<string, TableSpec>;

export type TableName = keyof typeof TABLES;
export const TABLE_NAMES = Object.keys(TABLES).sort() as TableName[];

export function isTableName(name: string): name is TableName {
  return Object.hasOwn(TABLES, name);
}

export function tableSpec(name: TableName): TableSpec {
  return TABLES[name];
}
