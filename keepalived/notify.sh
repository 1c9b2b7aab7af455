#!/bin/sh
# keepalived notify hook: appends one line per VRRP transition.
#   notify.sh LOG NODE TYPE NAME STATE PRIORITY   (keepalived appends the last four)
# e.g. "2026-11-21T07:40:12.345Z lb1 INSTANCE VI_TANDEM MASTER prio 150"
log=$1
node=$2
shift 2
printf '%s %s %s %s %s prio %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$node" "$1" "$2" "$3" "${4:--}" >>"$log"
