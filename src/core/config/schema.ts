/**
 * The configuration keys xcimg understands (cli.md "Config"), their types and built-in
 * defaults. Adding a key here is all it takes: the loader validates against this table and
 * rejects anything else with file:line:col, so a typo in a site's TOML never goes unnoticed.
 */
export type KeyType = "string" | "path" | "port" | "integer" | "boolean" | "string[]";

export interface KeySpec {
  type: KeyType;
  default: string | number | boolean | string[];
  description: string;
}

export const CONFIG_SCHEMA = {
  installdir: { type: "path", default: "/install", description: "xCAT site.installdir: images, autoinst, postscripts" },
  tftpdir: { type: "path", default: "/tftpboot", description: "xCAT site.tftpdir: boot loaders and per-node boot files" },
  master: { type: "string", default: "10.0.0.1", description: "address nodes use to reach this management node" },
  "db.path": { type: "path", default: "/var/lib/xcimg/xcimg.db", description: "embedded SQLite database" },
  "db.url": { type: "string", default: "", description: "postgresql://user@host:port/db (e.g. xCAT's own database); overrides db.path; env XCIMG_DB_URL" },
  "ssh.user": { type: "string", default: "root", description: "user for capture and update over SSH" },
  "ssh.identity": { type: "path", default: "~/.ssh/id_ed25519", description: "private key (SSH_AUTH_SOCK is used too)" },
  "ssh.known_hosts": { type: "path", default: "~/.ssh/known_hosts", description: "known_hosts checked on every connection" },
  "ssh.port": { type: "port", default: 22, description: "SSH port of golden and cloned nodes" },
  "http.port": { type: "port", default: 80, description: "port of the web server that serves installdir and tftpdir" },
  "boot.generations": {
    type: "boolean",
    default: false,
    description:
      "publish each image's boot files into a generation directory the loader files name, so a node booting during a change gets old or new files, never a mix (sn sync always does; xcimg pack then leaves nodes on theirs until xcimg boot)",
  },
  "boot.generation_grace": {
    type: "integer",
    default: 900,
    description: "seconds a replaced generation of boot files is kept for nodes still booting or cloning from it (beyond the one just replaced)",
  },
  "dhcp.dir": { type: "path", default: "/etc/xcimg/dhcp", description: "where xcimg dhcp writes the DHCP server's configuration (docs/dhcp.md)" },
  "dhcp.reload": { type: "string", default: "", description: "command dhcp --reload runs instead of the backend's systemctl reload" },
  "trust.allowed_signers": {
    type: "path",
    default: "/etc/xcimg/allowed_signers",
    description: "ssh-keygen allowed_signers file: who may sign images and bundles",
  },
  // service nodes (docs/service-nodes.md): where `sn sync` pulls from and who this SN is
  "sn.mn": { type: "string", default: "", description: "service nodes: the management node sn sync pulls from (host name or address)" },
  "sn.mn_port": { type: "port", default: 22, description: "service nodes: the SSH port of the management node's sshd" },
  "sn.known_hosts": {
    type: "path",
    default: "/etc/xcimg/mn_known_hosts",
    description: "service nodes: known_hosts pinning the management node's host key (an unknown key is refused)",
  },
  "sn.name": {
    type: "string",
    default: "",
    description: "service nodes: this SN's names in noderes.servicenode/xcatmaster, comma-separated (default: its host name)",
  },
  "sn.remote_xcimg": { type: "string", default: "xcimg", description: "service nodes: the xcimg command on the management node" },
  "sn.sync_command": {
    type: "string",
    default: "xcimg sn sync",
    description: "service nodes: the shell command 'sn move --sync' runs on each service node over SSH",
  },
  "trust.require": { type: "string", default: "warn", description: "signed | warn | off: what import and verify do with unsigned or unknown-signer images" },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

type ValueOf<K extends ConfigKey> = (typeof CONFIG_SCHEMA)[K]["type"] extends "port" | "integer"
  ? number
  : (typeof CONFIG_SCHEMA)[K]["type"] extends "boolean"
    ? boolean
    : string;

/** The resolved configuration, flat and fully typed; paths are absolute. */
export type Config = { [K in ConfigKey]: ValueOf<K> } & {
  /** Which file the values came from, or null for built-in defaults only. */
  readonly source: string | null;
};
