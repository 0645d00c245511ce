#!/usr/bin/env bash
# Installs the real clients (and, for benchmarks, the real peers) that
# Protolab's tests use, when they are missing: with apt-get when root,
# otherwise it says what to install and carries on (tests that need a
# missing tool are then skipped, unless LAB_REQUIRE_CLIENTS=1).
#
# usage: scripts/install-clients.sh [test|bench]
set -u
set -o pipefail

what=${1:-test}
# command:package pairs. docker-compose only validates the classroom's
# compose file: its `config` needs no Docker engine (the docker.io it
# recommends is not installed).
test_tools="dig:bind9-dnsutils host:bind9-dnsutils nslookup:bind9-dnsutils kdig:knot-dnsutils swaks:swaks curl:curl nc:netcat-openbsd python3:python3 snmpget:snmp snmptrapd:snmptrapd onesixtyone:onesixtyone snmpd:snmpd telnet:telnet udhcpc:udhcpc dhclient:isc-dhcp-client dhcpcd:dhcpcd-base chromium:chromium docker-compose:docker-compose"
bench_tools="dnsperf:dnsperf dnsmasq:dnsmasq-base smtp-source:postfix smtp-sink:postfix snmpbulkwalk:snmp snmpd:snmpd perfdhcp:kea-admin"
case "$what" in
  test)  tools=$test_tools ;;
  bench) tools="$test_tools $bench_tools" ;;
  *) echo "usage: $0 [test|bench]" >&2; exit 2 ;;
esac

missing=()
for pair in $tools; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then
    case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing tools for the ${what}s: ${missing[*]}" >&2
  echo "Install them with:  sudo apt-get install -y ${missing[*]}" >&2
  echo "(tests that need them are skipped until then)" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing tools: ${missing[*]}, and no apt-get here: install them with your package manager." >&2
  exit 0
fi
echo "Installing ${missing[*]} with apt-get…" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix is only wanted for its smtp-source and smtp-sink tools: with "No
# configuration" the package sets up no mail system and starts no daemon.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
# Packages such as snmpd and postfix come with daemons: the tests want the
# programs only, so no service may start while installing them.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
fi
cleanup() { [ -n "$own_policy" ] && rm -f "$policy"; }
trap cleanup EXIT
apt-get update -qq >/dev/null || { echo "apt-get update failed" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { echo "apt-get install failed" >&2; exit 1; }
