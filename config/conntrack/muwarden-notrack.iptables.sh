#!/bin/sh
# The same as muwarden-notrack.nft for hosts that use iptables (also iptables-nft): the raw
# table's NOTRACK (CT --notrack) for the game ports, both directions. Run as root; run it again
# after a firewall reload. Undo with the same lines and -D instead of -A.
# Stateful rules stop matching these ports (state UNTRACKED): accept them explicitly, e.g.
#   iptables -A INPUT -p tcp -m multiport --dports 44405,55901 -j ACCEPT
set -eu
PORTS="${MUWARDEN_PORTS:-44405,55901}"
for ipt in iptables ip6tables; do
  command -v "$ipt" >/dev/null 2>&1 || continue
  "$ipt" -t raw -A PREROUTING -p tcp -m multiport --dports "$PORTS" -j CT --notrack
  "$ipt" -t raw -A PREROUTING -p tcp -m multiport --sports "$PORTS" -j CT --notrack
  "$ipt" -t raw -A OUTPUT -p tcp -m multiport --sports "$PORTS" -j CT --notrack
  "$ipt" -t raw -A OUTPUT -p tcp -m multiport --dports "$PORTS" -j CT --notrack
done
