#!/bin/sh
# xcimg's built-in confignetwork (xCAT's default postscript of that name, written anew for
# xcimg): static addresses, bonds and VLANs from the node's nics row, as xCAT's mypostscript
# carries it (NICIPS, NICTYPES, NICNETWORKS, NICDEVICES, NICEXTRAPARAMS; NETWORKS_LINE<n>
# gives each network's mask and gateway). The formats are xCAT's (perl-xCAT/xCAT/Schema.pm,
# nics table): `<nic>!<value>` comma-separated, several addresses of one NIC `|`-separated:
#   nicips=eth0!10.1.0.5|fd00::5   nicnetworks=eth0!net1|net6   nictypes=eth0!ethernet,bond0!bond
#   nicdevices=bond0!eth1|eth2,bond0.10!bond0    nicextraparams=bond0!BONDING_OPTS=mode=802.3ad;miimon=100
# A VLAN's id is the digits after the last `.` of its name or of `vlan` (xCAT's nicutils.sh), or
# nicextraparams vlanid=<n>; its parent is its nicdevices entry or the name before the `.`.
#
#   confignetwork [--apply|--no-apply] [--stack=networkd|nm|ifupdown|ifcfg]
# Files are written for the node's network stack (netconf.sh); --apply also sets the addresses
# now with ip(8): the default on netboot and statelite nodes, whose network is already up
# when postscripts run. Types xcimg does not configure (infiniband, bridge, ...) fail the script
# before anything is written; `unused` is left alone, as xCAT does.
# shellcheck disable=SC2034 # XCIMG_NAME, NET_TAG, NET_NUM, NET_PRIO, NET_STACK: read by lib/netconf.sh
XCIMG_NAME=confignetwork NET_TAG=xcimg NET_NUM=10 NET_PRIO=100
# shellcheck source=lib/netconf.sh disable=SC1091
. "${0%/*}/lib/netconf.sh"

APPLY='' NET_STACK=''
case ${NODESETSTATE:-} in netboot | statelite) APPLY=1 ;; esac
for _arg in "$@"; do
	case $_arg in
	--apply) APPLY=1 ;;
	--no-apply) APPLY= ;;
	--stack=*) NET_STACK=${_arg#--stack=} ;;
	-s) note "-s (the install NIC as static too): xcimg leaves the install NIC to hardeths" ;;
	*) die "unknown argument '$_arg' (confignetwork [--apply|--no-apply] [--stack=networkd|nm|ifupdown|ifcfg])" ;;
	esac
done

if [ -z "${NICIPS:-}${NICTYPES:-}${NICDEVICES:-}" ]; then
	note "the nics table has no row for ${NODE:-this node}: nothing to configure"
	exit 0
fi

# entries COLUMN-VALUE: one `nic!value` per line
entries() { printf '%s\n' "$1" | tr ',' '\n' | sed 's/^[[:space:]]*//;s/[[:space:]]*$//' | grep -v '^$'; }
# attr COLUMN-VALUE NIC: that NIC's value
attr() { entries "$1" | while IFS= read -r _e; do [ "${_e%%!*}" = "$2" ] && printf '%s\n' "${_e#*!}" && break; done; }
count() { printf '%s' "$1" | tr '|' '\n' | grep -c .; }

# field LINE KEY: KEY's value in one `k=v||k=v` line (xCAT's tabdump of the networks table)
field() { printf '%s\n' "$1" | awk -v k="$2" 'BEGIN { FS = "[|][|]" } { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }'; }
# network NAME FIELD: a field of the networks row named NAME (NETWORKS_LINE<n>)
network() {
	_i=1
	while [ "$_i" -le "${NETWORKS_LINES:-0}" ]; do
		_l=''
		eval "_l=\${NETWORKS_LINE$_i:-}"
		if [ "$(field "$_l" netname)" = "$1" ]; then
			field "$_l" "$2"
			return 0
		fi
		_i=$((_i + 1))
	done
	return 1
}

# every NIC the row names, in the order it names them
NICS=
for _col in "${NICTYPES:-}" "${NICIPS:-}" "${NICDEVICES:-}" "${NICNETWORKS:-}" "${NICEXTRAPARAMS:-}"; do
	for _nic in $(entries "$_col" | sed 's/!.*//'); do
		case " $NICS " in *" $_nic "*) ;; *) NICS="${NICS:+$NICS }$_nic" ;; esac
	done
done
for _nic in $NICS; do
	case $_nic in
	*[!A-Za-z0-9_.:-]* | [!A-Za-z0-9]*) die "'$_nic' is not an interface name (nics row of ${NODE:-this node})" ;;
	esac
	[ "${#_nic}" -le 15 ] || die "'$_nic' is longer than an interface name may be (15)"
done

# members of bonds: ethernet unless the row says otherwise
for _nic in $NICS; do
	[ "$(attr "${NICTYPES:-}" "$_nic" | tr '[:upper:]' '[:lower:]')" = bond ] || continue
	_devs=$(attr "${NICDEVICES:-}" "$_nic")
	[ -n "$_devs" ] || die "bond $_nic has no nicdevices entry (its member NICs, e.g. $_nic!eth1|eth2)"
	for _s in $(printf '%s' "$_devs" | tr '|' ' '); do
		[ -z "$(net_get "$_s" master)" ] || die "$_s is a member of two bonds ($(net_get "$_s" master) and $_nic)"
		net_set "$_s" master "$_nic"
		net_add "$_nic" members "$_s"
		case " $NICS " in *" $_s "*) ;; *) NICS="$NICS $_s" ;; esac
	done
done

PLAN=
for _nic in $NICS; do
	_type=$(attr "${NICTYPES:-}" "$_nic" | tr '[:upper:]' '[:lower:]')
	[ -n "$_type" ] || [ -z "$(net_get "$_nic" master)" ] || _type=ethernet
	case $_type in
	ethernet | bond | vlan) ;;
	unused)
		note "$_nic: nictypes says unused, left alone"
		continue
		;;
	"") die "$_nic has no nictypes entry (ethernet, bond, vlan or unused)" ;;
	*) die "nictype '$_type' of $_nic is not one xcimg's confignetwork configures (ethernet, bond, vlan, unused)" ;;
	esac
	net_set "$_nic" type "$_type"
	if [ -n "$(net_get "$_nic" master)" ]; then
		[ "$_type" = ethernet ] || die "$_nic is a member of bond $(net_get "$_nic" master) but its nictype is $_type"
		[ -z "$(attr "${NICIPS:-}" "$_nic")" ] || die "$_nic is a member of bond $(net_get "$_nic" master): its addresses belong on the bond"
	fi

	_ips=$(attr "${NICIPS:-}" "$_nic")
	_nets=$(attr "${NICNETWORKS:-}" "$_nic")
	_extra=$(attr "${NICEXTRAPARAMS:-}" "$_nic" | tr '|' ' ')
	if [ -n "$_ips" ] && [ "$(count "$_ips")" != "$(count "$_nets")" ]; then
		die "$_nic: nicips has $(count "$_ips") address(es) but nicnetworks $(count "$_nets") network(s); each address needs its network"
	fi
	_k=1
	for _ip in $(printf '%s' "$_ips" | tr '|' ' '); do
		_net=$(printf '%s' "$_nets" | cut -d'|' -f"$_k")
		_k=$((_k + 1))
		_mask=$(network "$_net" mask) || die "$_nic: network '$_net' (nicnetworks) is not in the networks table"
		case $_ip in
		*:*) ;;
		*) is_ipv4 "$_ip" || die "$_nic: '$_ip' is not an IPv4 address" ;;
		esac
		_prefix=$(mask_prefix "$_mask") || die "network $_net: mask '$_mask' is not a netmask"
		net_add "$_nic" addrs "$_ip/$_prefix"
		_gw=$(network "$_net" gateway)
		case $_gw in "<xcatmaster>" | "&lt;xcatmaster&gt;") _gw=${MASTER:-} ;; esac
		# written unquoted into ifcfg and ifupdown files a shell reads: an address, nothing else
		case $_gw in
		"") ;;
		*:*) case $_gw in *[!0-9A-Fa-f:]*) die "network $_net: gateway '$_gw' is not an address" ;; esac ;;
		*) is_ipv4 "$_gw" || die "network $_net: gateway '$_gw' is not an address" ;;
		esac
		[ -n "$(net_get "$_nic" gw)" ] || [ -z "$_gw" ] || net_set "$_nic" gw "$_gw"
		_mtu=$(network "$_net" mtu)
		[ -z "$_mtu" ] || net_set "$_nic" mtu "$_mtu"
	done
	for _p in $_extra; do
		case $_p in
		MTU=* | mtu=*) net_set "$_nic" mtu "${_p#*=}" ;;
		BONDING_OPTS=*) net_set "$_nic" bondopts "$(printf '%s' "${_p#*=}" | tr ';' ' ')" ;;
		vlanid=* | VLANID=* | vlan_id=*) net_set "$_nic" vid "${_p#*=}" ;;
		*) note "$_nic: nicextraparams $_p: not a parameter xcimg sets, ignored" ;;
		esac
	done
	case $(net_get "$_nic" mtu) in *[!0-9]*) die "$_nic: MTU '$(net_get "$_nic" mtu)' is not a number" ;; esac
	for _o in $(net_get "$_nic" bondopts); do
		# name=value with a plain value (numbers, names, address lists such as arp_ip_target=+10.0.0.1,10.0.0.2):
		# it lands inside BONDING_OPTS="…" in an ifcfg file, which initscripts source as shell
		case $_o in [a-z]*=*[!A-Za-z0-9_.,:+-]* | [a-z]*=) die "$_nic: bonding option '$_o' is not name=value with a plain value" ;; [a-z]*=?*) ;; *) die "$_nic: bonding option '$_o' is not name=value" ;; esac
	done
	if [ "$_type" = vlan ]; then
		_parent=$(attr "${NICDEVICES:-}" "$_nic")
		case $_nic in *.*) [ -n "$_parent" ] || _parent=${_nic%.*} ;; esac
		[ -n "$_parent" ] || die "VLAN $_nic has no parent: a nicdevices entry ($_nic!<nic>) or a name <nic>.<id>"
		if [ -z "$(net_get "$_nic" vid)" ]; then
			case $_nic in
			*.*) net_set "$_nic" vid "${_nic##*.}" ;;
			*vlan[0-9]*) net_set "$_nic" vid "${_nic##*vlan}" ;;
			esac
		fi
		case $(net_get "$_nic" vid) in "" | *[!0-9]*) die "VLAN $_nic: no numeric VLAN id (name it <nic>.<id> or set nicextraparams $_nic!vlanid=<id>)" ;; esac
		net_set "$_nic" parent "$_parent"
		net_add "$_parent" vlans "$_nic"
		case " $NICS " in *" $_parent "*) ;; *) NICS="$NICS $_parent" && net_set "$_parent" type ethernet && PLAN="$PLAN $_parent" ;; esac
	fi
	PLAN="${PLAN:+$PLAN }$_nic"
done
# a VLAN's parent listed after it: still configured (the loop above saw it)
for _nic in $PLAN; do
	[ "$(net_get "$_nic" type)" = vlan ] || continue
	_p=$(net_get "$_nic" parent)
	case $(net_get "$_p" type) in ethernet | bond) ;; *) die "VLAN $_nic: its parent $_p is $(net_get "$_p" type), not an ethernet NIC or a bond" ;; esac
done
# shellcheck disable=SC2086 # PLAN is a list of interface names
set -- $PLAN
[ "$#" -gt 0 ] || {
	note "nothing to configure"
	exit 0
}

STACK=$(net_stack) || exit 1
net_write "$STACK" "$@"
net_commit "$STACK" "$@"
note "configured $* for $STACK"
[ -z "$APPLY" ] || net_apply "$@"
