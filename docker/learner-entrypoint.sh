#!/bin/sh
# learner-entrypoint: the entry point of a Protolab classroom's learner
# container.
#
#   learner-entrypoint               wait until the container is stopped (the default)
#   learner-entrypoint CMD [ARG...]  run a command instead
#   learner-entrypoint --welcome     say who this learner is in the lab (bash does, at start)
#
# Called as udhcpc's script (/etc/udhcpc/default.script links here), it shows
# the lease the lab's DHCP server gave and leaves the interface alone: the
# container keeps the fixed address its roster gives it.
#
# Environment: LAB_LEARNER (the learner's id), LAB_SERVER (the lab server's
# address, 192.0.2.1 unless told otherwise), LAB_IFACE (eth0).
set -eu

server=${LAB_SERVER:-192.0.2.1}
iface=${LAB_IFACE:-eth0}

# addr prints the interface's IPv4 address with its prefix length.
addr() {
	ip -4 -o addr show dev "${1:-$iface}" 2>/dev/null | awk '{ print $4; exit }'
}

# mac prints the interface's MAC address.
mac() {
	cat "/sys/class/net/${1:-$iface}/address" 2>/dev/null || true
}

# dhcp_event handles one call from udhcpc ($1 says what happened; udhcpc
# passes the lease in the environment).
dhcp_event() {
	case "${1:-}" in
	bound | renew)
		echo "lease ($1): ${ip:-?}/${mask:-${subnet:-?}} from ${serverid:-?} for ${lease:-?} s;" \
			"router ${router:-none}, DNS ${dns:-none}, domain ${domain:-none}"
		echo "  (shown, not applied: ${interface:-$iface} keeps its address $(addr "${interface:-$iface}"))"
		;;
	leasefail)
		echo "no lease: no DHCP server answered. Does the class's lab have a DHCP server?"
		;;
	nak)
		echo "the DHCP server refused (NAK): ${message:-no reason given}"
		;;
	esac
	return 0
}

welcome() {
	cat <<EOF
Protolab classroom: you are ${LAB_LEARNER:-$(hostname)} ($(addr), MAC $(mac)).
The lab server is $server, and every name of lab.test leads there. Its servers listen
on the standard ports: DNS 53, DHCP 67, SMTP 25 and 587, POP3 110, IMAP 143, SNMP 161,
echo 7, HTTP 80. Your tools: dig kdig host nslookup swaks curl nc telnet snmpget
snmpwalk udhcpc dhclient ip ping. For example:
  dig www.lab.test
  swaks --to bob@lab.test --server mail.lab.test
  udhcpc -i $iface -f -q
EOF
}

case "$0" in
*/default.script | default.script)
	dhcp_event "$@"
	exit 0
	;;
esac

if [ "${1:-}" = "--welcome" ]; then
	welcome
	exit 0
fi
if [ "$#" -gt 0 ]; then
	exec "$@"
fi
# Nothing to run: wait to be stopped, and stop at once when asked.
trap 'kill $! 2>/dev/null; exit 0' TERM INT
sleep infinity &
wait $!
