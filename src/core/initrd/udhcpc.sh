#!/.xcimg/bin/busybox sh
# shellcheck shell=dash
# shellcheck disable=SC2154 # udhcpc exports interface, ip, subnet, router, dns to its hook
# udhcpc's hook in xcimg's first-stage initrds (statelite's, first-stage.ts): configure the boot NIC with the lease.
PATH=/.xcimg/bin
case "$1" in
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
	[ -n "$dns" ] && for d in $dns; do echo "nameserver $d"; done >/etc/resolv.conf
	;;
esac
exit 0
