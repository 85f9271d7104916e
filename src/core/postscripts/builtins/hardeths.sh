#!/bin/sh
# xcimg's built-in hardeths (xCAT's default postscript of that name, written anew for xcimg):
# every broadcast NIC that has an IPv4 address now — the one DHCP gave the boot interface —
# gets it as static configuration, with the default route's gateway on the NIC that route
# leaves by. xCAT's hardeths (xCAT/postscripts/hardeths) does the same for ifcfg and
# /etc/network/interfaces; here the files are those of the node's stack (netconf.sh), so the
# node keeps its address without a DHCP server. The address is already set: nothing is
# applied. hardeths [--stack=networkd|nm|ifupdown|ifcfg]
# shellcheck disable=SC2034 # XCIMG_NAME, NET_TAG, NET_NUM, NET_PRIO, NET_STACK: read by lib/netconf.sh
XCIMG_NAME=hardeths NET_TAG=xcimg-hardeths NET_NUM=20 NET_PRIO=50
# shellcheck source=lib/netconf.sh disable=SC1091
. "${0%/*}/lib/netconf.sh"

NET_STACK=''
for _arg in "$@"; do
	case $_arg in
	--stack=*) NET_STACK=${_arg#--stack=} ;;
	*) die "unknown argument '$_arg' (hardeths [--stack=networkd|nm|ifupdown|ifcfg])" ;;
	esac
done
command -v ip >/dev/null 2>&1 || die "no ip(8) on this node to read its addresses"

_route=$(ip -4 route show default 2>/dev/null | awk '$1 == "default" { for (i = 2; i < NF; i++) { if ($i == "via") g = $(i + 1); if ($i == "dev") d = $(i + 1) } print g, d; exit }')
GW=${_route% *} GWDEV=${_route#* }
PLAN=''
for _nic in $(ip -o link show | awk -F': ' '$3 ~ /BROADCAST/ { sub(/@.*/, "", $2); print $2 }'); do
	_addr=$(ip -4 -o addr show dev "$_nic" | awk '$3 == "inet" { print $4; exit }')
	[ -n "$_addr" ] || continue
	net_set "$_nic" type ethernet
	net_set "$_nic" addrs "$_addr"
	[ "$_nic" != "$GWDEV" ] || net_set "$_nic" gw "$GW"
	PLAN="${PLAN:+$PLAN }$_nic"
done
if [ -z "$PLAN" ]; then
	note "no broadcast NIC with an IPv4 address: nothing to make static"
	exit 0
fi
# shellcheck disable=SC2086 # PLAN is a list of interface names
set -- $PLAN
STACK=$(net_stack) || exit 1
net_write "$STACK" "$@"
net_commit "$STACK" "$@"
for _nic in "$@"; do
	case " ${NET_LEFT:-} " in *" $_nic "*) continue ;; esac
	_g=$(net_get "$_nic" gw)
	note "$_nic: $(net_get "$_nic" addrs)${_g:+ gateway $_g} is now static ($STACK)"
done
