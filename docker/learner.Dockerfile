# A learner's machine in a Protolab classroom: Debian with the real clients a
# learner uses (dig, kdig, host, nslookup, swaks, curl, snmpget, snmpwalk,
# udhcpc, dhclient, nc, telnet, ip, ping). Build it from the root of the
# source tree:
#
#   docker build -t protolab/learner -f docker/learner.Dockerfile .
#
# The learner is root in the container, which gives udhcpc the raw socket it
# needs (CAP_NET_RAW is in Docker's default set) but not the right to change
# the interface (no CAP_NET_ADMIN): a lease is shown, never applied, and the
# container keeps the address its roster gives it.

ARG DEBIAN_VERSION=bookworm

FROM debian:${DEBIAN_VERSION}-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      bind9-dnsutils \
      curl \
      iproute2 \
      iputils-ping \
      isc-dhcp-client \
      knot-dnsutils \
      netcat-openbsd \
      snmp \
      swaks \
      telnet \
      udhcpc \
 && rm -rf /var/lib/apt/lists/*
COPY docker/learner-entrypoint.sh /usr/local/bin/learner-entrypoint
# The same script is udhcpc's (it shows the lease), and bash greets the
# learner with who they are in the lab.
RUN chmod 0755 /usr/local/bin/learner-entrypoint \
 && ln -sf /usr/local/bin/learner-entrypoint /etc/udhcpc/default.script \
 && printf '\n# Protolab: who this learner is in the lab.\n/usr/local/bin/learner-entrypoint --welcome\n' >>/etc/bash.bashrc
ENV LAB_SERVER=192.0.2.1
WORKDIR /root
ENTRYPOINT ["/usr/local/bin/learner-entrypoint"]
