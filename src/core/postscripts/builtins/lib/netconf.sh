# shellcheck shell=sh
# xcimg's network configuration writers, sourced by its built-in confignetwork and hardeths
# (/etc/xcimg/builtins/lib on the node). POSIX sh: busybox ash and dash.
#
# Each interface is planned first (net_set), every file is written into a staging tree, and
# only when all of them could be written are they moved into place (net_commit): a bad nics
# row fails the script with nothing changed, never a half-written configuration.
#
# Stacks: systemd-networkd (/etc/systemd/network/10-xcimg-<nic>.{network,netdev}),
# NetworkManager keyfiles (/etc/NetworkManager/system-connections/xcimg-<nic>.nmconnection),
# RHEL's ifcfg files (/etc/sysconfig/network-scripts/ifcfg-<nic>) and ifupdown
# (/etc/network/interfaces: xcimg's stanzas replace the ones for the same interfaces;
# busybox's ifupdown has no `source`, so no interfaces.d).
# NET_TAG, NET_NUM and NET_PRIO keep each script's files apart: confignetwork's win over
# hardeths' for an interface both configure (networkd's first match, NetworkManager's priority).

die() {
	echo "$XCIMG_NAME: error: $*" >&2
	[ -n "${STAGE:-}" ] && rm -rf "$STAGE"
	exit 1
}
note() { echo "$XCIMG_NAME: $*"; }

# a NIC name as part of a variable name
key() { printf '%s' "$1" | tr -c 'A-Za-z0-9\n' '_'; }
net_set() { eval "N_$2_$(key "$1")=\$3"; }
net_get() { eval "printf '%s' \"\${N_$2_$(key "$1"):-}\""; }
net_add() {
	_old=$(net_get "$1" "$2")
	net_set "$1" "$2" "${_old:+$_old }$3"
}

networkd_enabled() {
	for _d in /etc/systemd/system/multi-user.target.wants /etc/systemd/system/network-online.target.wants; do
		[ -e "$_d/systemd-networkd.service" ] && return 0
	done
	return 1
}

# net_stack: the stack this node's configuration is written for (--stack= overrides)
net_stack() {
	case ${NET_STACK:-} in
	networkd | nm | ifupdown | ifcfg)
		echo "$NET_STACK"
		return 0
		;;
	"") ;;
	*) die "unknown --stack=$NET_STACK (networkd, nm, ifupdown or ifcfg)" ;;
	esac
	if [ -x /usr/sbin/NetworkManager ] && [ -d /etc/NetworkManager ]; then
		echo nm
	elif networkd_enabled; then
		echo networkd
	elif [ -f /etc/sysconfig/network-scripts/ifup-eth ]; then
		echo ifcfg
	elif [ -f /etc/network/interfaces ] || { [ -x /sbin/ifup ] && [ ! -d /etc/sysconfig/network ]; }; then
		# (SUSE's wicked has an ifup too, and /etc/sysconfig/network: not ifupdown)
		echo ifupdown
	elif [ -x /lib/systemd/systemd-networkd ] || [ -x /usr/lib/systemd/systemd-networkd ]; then
		echo networkd
	else
		die "no network stack to configure (NetworkManager, systemd-networkd, ifcfg or ifupdown)"
	fi
}

# mask_prefix MASK: 255.255.255.0 -> 24, /64 or 64 -> 64
mask_prefix() {
	case $1 in
	/*) echo "${1#/}" && return 0 ;;
	*.*.*.*) ;;
	*[!0-9]* | "") return 1 ;;
	*) echo "$1" && return 0 ;;
	esac
	_bits=0 _end=
	_rest=$1.
	while [ -n "$_rest" ]; do
		_o=${_rest%%.*}
		_rest=${_rest#*.}
		case $_o in
		255) [ -z "$_end" ] || return 1; _bits=$((_bits + 8)) ;;
		254 | 252 | 248 | 240 | 224 | 192 | 128)
			[ -z "$_end" ] || return 1
			case $_o in 254) _b=7 ;; 252) _b=6 ;; 248) _b=5 ;; 240) _b=4 ;; 224) _b=3 ;; 192) _b=2 ;; *) _b=1 ;; esac
			_bits=$((_bits + _b))
			_end=1
			;;
		0) _end=1 ;;
		*) return 1 ;;
		esac
	done
	echo "$_bits"
}

is_ipv4() {
	case $1 in *[!0-9.]* | *..* | .* | *.) return 1 ;; esac
	_n=0
	_r=$1.
	while [ -n "$_r" ]; do
		_o=${_r%%.*}
		_r=${_r#*.}
		[ -n "$_o" ] && [ "$_o" -le 255 ] || return 1
		_n=$((_n + 1))
	done
	[ "$_n" -eq 4 ]
}

# stage PATH: a file of the staging tree for PATH (its directory made)
stage() {
	mkdir -p "$STAGE${1%/*}" || die "cannot write $STAGE${1%/*}"
	printf '%s' "$STAGE$1"
}

# --- systemd-networkd --------------------------------------------------------------------------
w_networkd() {
	_n=$1 _t=$(net_get "$1" type)
	_base=/etc/systemd/network/$NET_NUM-$NET_TAG-$_n
	if [ "$_t" = bond ] || [ "$_t" = vlan ]; then
		{
			echo "# written by xcimg $XCIMG_NAME"
			printf '[NetDev]\nName=%s\nKind=%s\n' "$_n" "$_t"
			if [ "$_t" = vlan ]; then
				printf '\n[VLAN]\nId=%s\n' "$(net_get "$_n" vid)"
			elif [ -n "$(net_get "$_n" bondopts)" ]; then
				printf '\n[Bond]\n'
				for _o in $(net_get "$_n" bondopts); do
					_v=${_o#*=}
					case ${_o%%=*} in
					mode) echo "Mode=$_v" ;;
					miimon) echo "MIIMonitorSec=${_v}ms" ;;
					lacp_rate) case $_v in 1) _v=fast ;; 0) _v=slow ;; esac && echo "LACPTransmitRate=$_v" ;;
					xmit_hash_policy) echo "TransmitHashPolicy=$_v" ;;
					updelay) echo "UpDelaySec=${_v}ms" ;;
					downdelay) echo "DownDelaySec=${_v}ms" ;;
					*) echo "# $_o: no systemd-networkd equivalent, not set" ;;
					esac
				done
			fi
		} >"$(stage "$_base.netdev")"
	fi
	{
		echo "# written by xcimg $XCIMG_NAME"
		printf '[Match]\nName=%s\n' "$_n"
		[ -z "$(net_get "$_n" mtu)" ] || printf '\n[Link]\nMTUBytes=%s\n' "$(net_get "$_n" mtu)"
		printf '\n[Network]\n'
		_m=$(net_get "$_n" master)
		if [ -n "$_m" ]; then
			echo "Bond=$_m"
		else
			[ -n "$(net_get "$_n" addrs)" ] || echo "LinkLocalAddressing=no"
			for _a in $(net_get "$_n" addrs); do echo "Address=$_a"; done
			[ -z "$(net_get "$_n" gw)" ] || echo "Gateway=$(net_get "$_n" gw)"
			for _v in $(net_get "$_n" vlans); do echo "VLAN=$_v"; done
		fi
	} >"$(stage "$_base.network")"
}

# --- NetworkManager keyfiles -------------------------------------------------------------------
w_nm() {
	_n=$1 _t=$(net_get "$1" type)
	_f=$(stage "/etc/NetworkManager/system-connections/$NET_TAG-$_n.nmconnection")
	{
		echo "# written by xcimg $XCIMG_NAME"
		printf '[connection]\nid=%s-%s\n' "$NET_TAG" "$_n"
		echo "type=$_t"
		echo "interface-name=$_n"
		echo "autoconnect=true"
		echo "autoconnect-priority=$NET_PRIO"
		_m=$(net_get "$_n" master)
		[ -z "$_m" ] || printf 'master=%s\nslave-type=bond\n' "$_m"
		[ "$_t" != ethernet ] || [ -z "$(net_get "$_n" mtu)" ] || printf '\n[ethernet]\nmtu=%s\n' "$(net_get "$_n" mtu)"
		if [ "$_t" = bond ]; then
			printf '\n[bond]\n'
			for _o in $(net_get "$_n" bondopts); do echo "$_o"; done
		elif [ "$_t" = vlan ]; then
			printf '\n[vlan]\nid=%s\nparent=%s\n' "$(net_get "$_n" vid)" "$(net_get "$_n" parent)"
		fi
		if [ -z "$_m" ]; then
			_v4='' _v6=''
			for _a in $(net_get "$_n" addrs); do
				case $_a in *:*) _v6="$_v6 $_a" ;; *) _v4="$_v4 $_a" ;; esac
			done
			printf '\n[ipv4]\n'
			if [ -n "$_v4" ]; then
				echo "method=manual"
				_i=1
				for _a in $_v4; do
					echo "address$_i=$_a"
					_i=$((_i + 1))
				done
				_g=$(net_get "$_n" gw)
				case $_g in *:* | "") ;; *) echo "gateway=$_g" ;; esac
			else
				echo "method=disabled"
			fi
			printf '\n[ipv6]\n'
			if [ -n "$_v6" ]; then
				echo "method=manual"
				_i=1
				for _a in $_v6; do
					echo "address$_i=$_a"
					_i=$((_i + 1))
				done
			else
				echo "method=ignore"
			fi
		fi
	} >"$_f"
	chmod 600 "$_f"
}

# --- ifcfg (RHEL's initscripts) ---------------------------------------------------------------
# /etc/sysconfig/network-scripts/ifcfg-<nic>: one file per interface, whoever writes it, so
# hardeths leaves an interface confignetwork wrote alone (net_commit)
w_ifcfg() {
	_n=$1 _t=$(net_get "$1" type)
	{
		echo "# written by xcimg $XCIMG_NAME"
		echo "DEVICE=$_n"
		echo "NAME=$NET_TAG-$_n"
		echo "ONBOOT=yes"
		echo "BOOTPROTO=none"
		case $_t in
		bond) printf 'TYPE=Bond\nBONDING_MASTER=yes\nBONDING_OPTS="%s"\n' "$(net_get "$_n" bondopts)" ;;
		vlan) printf 'VLAN=yes\nPHYSDEV=%s\nVLAN_ID=%s\n' "$(net_get "$_n" parent)" "$(net_get "$_n" vid)" ;;
		*) echo "TYPE=Ethernet" ;;
		esac
		_m=$(net_get "$_n" master)
		[ -z "$_m" ] || printf 'MASTER=%s\nSLAVE=yes\n' "$_m"
		_i='' _v6=''
		for _a in $(net_get "$_n" addrs); do
			case $_a in
			*:*) _v6="${_v6:+$_v6 }$_a" ;;
			*)
				printf 'IPADDR%s=%s\nPREFIX%s=%s\n' "$_i" "${_a%/*}" "$_i" "${_a#*/}"
				_i=$((${_i:-0} + 1))
				;;
			esac
		done
		if [ -n "$_v6" ]; then
			echo "IPV6INIT=yes"
			echo "IPV6ADDR=${_v6%% *}"
			[ "${_v6#* }" = "$_v6" ] || echo "IPV6ADDR_SECONDARIES=\"${_v6#* }\""
		fi
		_g=$(net_get "$_n" gw)
		case $_g in *:* | "") ;; *) echo "GATEWAY=$_g" ;; esac
		[ -z "$(net_get "$_n" mtu)" ] || echo "MTU=$(net_get "$_n" mtu)"
	} >"$(stage "/etc/sysconfig/network-scripts/ifcfg-$_n")"
}

# --- ifupdown ----------------------------------------------------------------------------------
w_ifupdown() {
	_n=$1 _t=$(net_get "$1" type)
	_f=$STAGE/xcimg.interfaces
	_v4='' _v6=''
	for _a in $(net_get "$_n" addrs); do
		case $_a in *:*) _v6="$_v6 $_a" ;; *) _v4="$_v4 $_a" ;; esac
	done
	{
		printf '\nauto %s\n' "$_n"
		if [ -n "$_v4" ]; then echo "iface $_n inet static"; else echo "iface $_n inet manual"; fi
		for _a in $_v4; do echo "    address $_a"; done
		_g=$(net_get "$_n" gw)
		case $_g in *:* | "") ;; *) [ -z "$_v4" ] || echo "    gateway $_g" ;; esac
		[ -z "$(net_get "$_n" mtu)" ] || echo "    mtu $(net_get "$_n" mtu)"
		_m=$(net_get "$_n" master)
		[ -z "$_m" ] || echo "    bond-master $_m"
		if [ "$_t" = bond ]; then
			echo "    bond-slaves $(net_get "$_n" members)"
			for _o in $(net_get "$_n" bondopts); do echo "    bond-${_o%%=*} ${_o#*=}"; done
		fi
		[ "$_t" != vlan ] || echo "    vlan-raw-device $(net_get "$_n" parent)"
		if [ -n "$_v6" ]; then
			echo "iface $_n inet6 static"
			for _a in $_v6; do echo "    address $_a"; done
		fi
	} >>"$_f"
}

# net_write STACK NIC...: stage every interface's files
net_write() {
	_stack=$1
	shift
	STAGE=$(mktemp -d "${TMPDIR:-/tmp}/xcimg-net.XXXXXX") || die "cannot make a staging directory"
	for _nic in "$@"; do "w_$_stack" "$_nic"; done
}

# ifupdown_merge NIC...: /etc/network/interfaces without the stanzas of these interfaces, then xcimg's
ifupdown_merge() {
	_cur=/etc/network/interfaces
	_out=$(stage "$_cur")
	if [ -f "$_cur" ]; then
		awk -v nics=" $* " -v me="$XCIMG_NAME" '
			function ours(n) { return index(nics, " " n " ") > 0 }
			/^[ \t]*(auto|allow-[a-z-]+)[ \t]/ {
				skip = 0; line = $1
				for (i = 2; i <= NF; i++) if (!ours($i)) line = line " " $i
				if (line != $1) print line
				next
			}
			/^[ \t]*(iface|mapping)[ \t]/ { skip = ours($2) }
			/^[ \t]*(source|source-directory)[ \t]/ { skip = 0 }
			$0 == "# written by xcimg " me || index($0, "# written by xcimg " me ": ") == 1 { next }
			$0 == "# end of the interfaces written by xcimg " me { next }
			!skip { print }
		' "$_cur" >"$_out" || die "cannot read $_cur"
	fi
	{
		echo "# written by xcimg $XCIMG_NAME: $*"
		sed '1{/^$/d;}' "$STAGE/xcimg.interfaces"
		echo "# end of the interfaces written by xcimg $XCIMG_NAME"
	} >>"$_out"
	rm -f "$STAGE/xcimg.interfaces"
}

# net_commit STACK NIC...: every staged file into place (each written next to it, then renamed)
net_commit() {
	_stack=$1
	shift
	[ "$_stack" != ifupdown ] || ifupdown_merge "$@"
	case $_stack in
	ifcfg)
		for _f in /etc/sysconfig/network-scripts/ifcfg-*; do
			[ -f "$_f" ] || continue
			_first=$(head -n 1 "$_f")
			if [ "$_first" = "# written by xcimg $XCIMG_NAME" ]; then
				rm -f "$_f"
			elif [ "$XCIMG_NAME" = hardeths ] && [ "$_first" = "# written by xcimg confignetwork" ] && [ -f "$STAGE$_f" ]; then
				rm -f "$STAGE$_f" # confignetwork's configuration of this interface wins
				NET_LEFT="${NET_LEFT:-} ${_f##*/ifcfg-}"
				echo "$XCIMG_NAME: ${_f##*/} is confignetwork's: left as it is"
			fi
		done
		;;
	networkd) rm -f "/etc/systemd/network/$NET_NUM-$NET_TAG-"* ;;
	nm) rm -f "/etc/NetworkManager/system-connections/$NET_TAG-"*.nmconnection ;;
	esac
	[ "$_stack" != ifupdown ] || [ ! -f /etc/network/interfaces ] || [ -f /etc/network/interfaces.xcimg-orig ] ||
		cp -p /etc/network/interfaces /etc/network/interfaces.xcimg-orig
	(cd "$STAGE" && find . -type f) | while IFS= read -r _rel; do
		_dst=${_rel#.}
		mkdir -p "${_dst%/*}" && cp -p "$STAGE$_dst" "$_dst.xcimg-new" && mv -f "$_dst.xcimg-new" "$_dst" || exit 1
		echo "$XCIMG_NAME: wrote $_dst"
	done || die "cannot write the configuration (see above)"
	rm -rf "$STAGE"
	STAGE=
}

# net_apply NIC...: the planned configuration, now, with ip(8): bonds and their members, then
# VLANs, then addresses, and a gateway only where the node has no default route yet (the
# stack's own files take over at the next boot)
run_ip() { ip "$@" || die "ip $* failed"; }
net_apply() {
	for _n in "$@"; do
		[ "$(net_get "$_n" type)" = bond ] || continue
		# shellcheck disable=SC2046 # each option its own words: mode 802.3ad miimon 100
		ip link show "$_n" >/dev/null 2>&1 || run_ip link add "$_n" type bond $(net_get "$_n" bondopts | tr '=' ' ')
		for _s in $(net_get "$_n" members); do
			run_ip link set "$_s" down
			run_ip link set "$_s" master "$_n"
			run_ip link set "$_s" up
		done
	done
	for _n in "$@"; do
		[ "$(net_get "$_n" type)" = vlan ] || continue
		ip link show "$_n" >/dev/null 2>&1 || run_ip link add link "$(net_get "$_n" parent)" name "$_n" type vlan id "$(net_get "$_n" vid)"
	done
	for _n in "$@"; do
		[ -z "$(net_get "$_n" mtu)" ] || run_ip link set "$_n" mtu "$(net_get "$_n" mtu)"
		run_ip link set "$_n" up
		for _a in $(net_get "$_n" addrs); do run_ip addr replace "$_a" dev "$_n"; done
		_g=$(net_get "$_n" gw)
		# a default route the node already has (the one it booted and fetches its scripts by) stays
		case $_g in
		"") ;;
		*:*) note "$_n: IPv6 gateway $_g: in the files only" ;;
		*)
			if [ -n "$(ip -4 route show default 2>/dev/null)" ]; then
				note "$_n: gateway $_g not applied: the node already has a default route (the files have it)"
			else
				run_ip route add default via "$_g" dev "$_n"
			fi
			;;
		esac
		echo "$XCIMG_NAME: applied $_n: $(net_get "$_n" addrs)"
	done
}
