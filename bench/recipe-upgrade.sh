#!/usr/bin/env bash
# A rolling etcd upgrade done by hand, the way a careful person scripts "stop, swap the binary, start, one
# host after another": per host, in the order given, scp the new etcd + etcdctl to /var/tmp on the host;
# one ssh: `systemctl stop etcd`, move both over /opt/etcd/bin/etcd{,ctl} (root-owned, 0755), drop
# ETCD_ENABLE_V2 from the env file (see below), `systemctl start etcd` (Type=notify: returns once etcd says
# it is ready); then poll `etcdctl endpoint health` on that host's endpoint from the controller until it
# answers, before the next host. No snapshot, no leader handling. The baseline of bench/upgrade.ts.
#
# ETCD_ENABLE_V2: etcd-kit renders ETCD_ENABLE_V2="false" for 3.4; 3.5 still reads it but logs "--enable-v2
# is deprecated in 3.5 and will be decommissioned in 3.6" at every start (and 3.6 no longer reads it). The
# rest of etcd-kit's 3.4 env file is valid 3.5 (zap logger already, no renamed or removed variable), so the
# person following the 3.5 upgrade notes deletes that one line while etcd is stopped, and nothing else.
#
#   recipe-upgrade.sh BIN_DIR ADMIN_DIR IP...
#
# BIN_DIR/{etcd,etcdctl}: the new release. ADMIN_DIR/{ca.crt,admin.crt,admin.key}: the client certificate
# the health poll uses. Environment: SSH_KEY, KNOWN_HOSTS (required); ETCDCTL (controller's etcdctl,
# default `etcdctl`); POLL_S (sleep between polls, default 0.25); HEALTH_TIMEOUT_S (per host, default 60);
# RECIPE_SSH_OPTS (extra ssh/scp options, word-split).
# Prints per host `host <ip> start <t> copied <t> swapped <t> healthy <t>` (epoch seconds), then `total <s>`.
set -euo pipefail
export LC_ALL=C
. "$(dirname "$0")/lib/recipe-wait.sh"

bin=$1
admin=$2
shift 2
: "${SSH_KEY:?}" "${KNOWN_HOSTS:?}"
etcdctl=${ETCDCTL:-etcdctl}
poll=${POLL_S:-0.25}
timeout=${HEALTH_TIMEOUT_S:-60}
# shellcheck disable=SC2206
opts=(-i "$SSH_KEY" -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$KNOWN_HOSTS" ${RECIPE_SSH_OPTS:-})

started=$EPOCHREALTIME
for ip in "$@"; do
  t_start=$EPOCHREALTIME
  scp -q "${opts[@]}" "$bin/etcd" "$bin/etcdctl" "root@$ip:/var/tmp/"
  t_copied=$EPOCHREALTIME
  ssh "${opts[@]}" "root@$ip" '
    set -e
    systemctl stop etcd
    mv -f /var/tmp/etcd /opt/etcd/bin/etcd
    mv -f /var/tmp/etcdctl /opt/etcd/bin/etcdctl
    chown root:root /opt/etcd/bin/etcd /opt/etcd/bin/etcdctl
    chmod 0755 /opt/etcd/bin/etcd /opt/etcd/bin/etcdctl
    sed -i "/^ETCD_ENABLE_V2=/d" /opt/etcd/cfg/etcd.env
    systemctl start etcd'
  t_swapped=$EPOCHREALTIME
  wait_healthy "recipe-upgrade: $ip" "$etcdctl" "https://$ip:2379" "$admin/ca.crt" "$admin/admin.crt" "$admin/admin.key"
  echo "host $ip start $t_start copied $t_copied swapped $t_swapped healthy $EPOCHREALTIME"
done
awk -v s="$started" -v e="$EPOCHREALTIME" 'BEGIN { printf "total %.3f\n", e - s }'
