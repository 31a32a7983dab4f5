#!/usr/bin/env bash
# etcd's documented disaster-recovery procedure (etcd.io/docs/v3.6/op-guide/recovery/, "Restoring a
# cluster") done by hand, the way a careful, competent person scripts it for a 3-member cluster that
# etcd-kit deployed (systemd unit `etcd`, data dir /var/lib/etcd, etcdutl at /opt/etcd/bin/etcdutl):
#   1. copy: scp the snapshot to /var/tmp on every host, all hosts at once (the cluster still serves);
#   2. restore: on every host at once, one ssh each: `systemctl stop etcd`; `etcdutl snapshot restore`
#      into a new dir next to the data dir (--name <member> --initial-cluster <all members' peer URLs>
#      --initial-cluster-token <a new token> --initial-advertise-peer-urls https://<ip>:2380; etcdutl checks
#      the SHA-256 trailer of the snapshot); move the old data dir aside (kept, renamed), the new one into
#      place, `chown -R etcd:etcd`, `chmod 0700`, remove the copied snapshot;
#   3. start: `systemctl start --no-block etcd` on every host at once (a member only reports ready to
#      systemd once a quorum is up, so a blocking start one host after another would stall), then poll
#      `etcdctl endpoint health --cluster` from the controller (mTLS, admin client cert) until every
#      member answers.
# The env file is left as etcd-kit rendered it: with a data dir present etcd ignores the initial-cluster
# settings, so the restored membership (same names and peer URLs) is what it runs with. Plain OpenSSH
# client (no ControlMaster, default cipher: set RECIPE_SSH_OPTS to try others). The baseline of
# bench/restore.ts.
#
# Two opt-in changes for someone who knows two etcd behaviours the procedure does not mention (off by
# default; bench/restore.ts --tuned runs them as (b')):
#   LEADER_LAST=1: before step 2, stop the followers (at once), then the leader. Stopping every member at
#     once often makes the leader's shutdown try to hand leadership to a follower that is going away, and
#     wait for that to time out (~7 s with etcd-kit's 1 s election timeout; a race: not every time);
#   NO_FIRST_CHECK=1: the first start runs without the InitialCorruptCheck feature gate (etcd-kit renders
#     it on): a member checks its data against its peers' before it serves its peer port, so members that
#     start together wait for each other's hash until the 7 s request timeout, usually twice (one per peer). The
#     gate goes off through a systemd drop-in in /run (another EnvironmentFile read after the rendered
#     one), removed once the cluster is healthy: every member holds the same checked snapshot anyway.
#
#   recipe-restore.sh SNAPSHOT ADMIN_DIR NAME=IP...
#
# SNAPSHOT: the snapshot file on this machine (etcdctl snapshot save / etcd-kit saveSnapshot).
# ADMIN_DIR/{ca.crt,admin.crt,admin.key}: the client certificate the health poll uses.
# Environment: SSH_KEY, KNOWN_HOSTS (required); ETCDCTL (controller's etcdctl, default `etcdctl`);
# HOST_ETCDUTL (default /opt/etcd/bin/etcdutl); DATA_DIR (default /var/lib/etcd); POLL_S (sleep between
# polls, default 0.25); HEALTH_TIMEOUT_S (default 120); RECIPE_SSH_OPTS (extra ssh/scp options, word-split).
# Prints per host `host <name> <ip> copied <t> stopped <t> restored <t>` (epoch seconds), then
# `phases start <t> copied <t> restored <t> healthy <t> end <t>` (epoch seconds; end = after the drop-in
# is removed again) and `total <s>`.
set -euo pipefail
export LC_ALL=C
. "$(dirname "$0")/lib/recipe-wait.sh"

snapshot=$1
admin=$2
shift 2
: "${SSH_KEY:?}" "${KNOWN_HOSTS:?}"
etcdctl=${ETCDCTL:-etcdctl}
etcdutl=${HOST_ETCDUTL:-/opt/etcd/bin/etcdutl}
data=${DATA_DIR:-/var/lib/etcd}
poll=${POLL_S:-0.25}
timeout=${HEALTH_TIMEOUT_S:-120}
# shellcheck disable=SC2206
opts=(-i "$SSH_KEY" -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$KNOWN_HOSTS" ${RECIPE_SSH_OPTS:-})

names=()
ips=()
initial=""
for m in "$@"; do
  names+=("${m%%=*}")
  ips+=("${m#*=}")
  initial+="${m%%=*}=https://${m#*=}:2380,"
done
initial=${initial%,}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
# A new cluster token, as the procedure asks: the restored cluster gets a new cluster ID.
token="etcd-restore-$stamp-$RANDOM"
remote_snapshot=/var/tmp/etcd-restore-$stamp.db
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs "$1 <index>" for every member at once; fails if any of them failed.
on_all() {
  local fn=$1 i pids=()
  for i in "${!ips[@]}"; do
    "$fn" "$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do
    wait "$i" || { echo "recipe-restore: $fn failed on a host" >&2; exit 1; }
  done
}

copy_host() {
  local i=$1
  scp -q "${opts[@]}" "$snapshot" "root@${ips[$i]}:$remote_snapshot"
  echo "$EPOCHREALTIME" >"$tmp/copied.$i"
}

restore_host() {
  local i=$1
  # The remote side prints when etcd was down, so stop and restore can be told apart.
  ssh "${opts[@]}" "root@${ips[$i]}" "
    set -euo pipefail
    systemctl stop etcd
    echo stopped \$EPOCHREALTIME
    rm -rf '$data.restoring'
    '$etcdutl' snapshot restore '$remote_snapshot' --name '${names[$i]}' --data-dir '$data.restoring' \
      --initial-cluster '$initial' --initial-cluster-token '$token' \
      --initial-advertise-peer-urls 'https://${ips[$i]}:2380' >&2
    mv '$data' '$data.before-restore-$stamp'
    mv '$data.restoring' '$data'
    chown -R etcd:etcd '$data'
    chmod 0700 '$data'
    rm -f '$remote_snapshot'
    if [ -n '${NO_FIRST_CHECK:-}' ]; then
      gates=\$(sed -n 's/^ETCD_FEATURE_GATES=\"\\{0,1\\}\\([^\"]*\\)\"\\{0,1\\}\$/\\1/p' /opt/etcd/cfg/etcd.env)
      gates=\$(printf %s \"\$gates\" | tr , '\\n' | grep -v '^InitialCorruptCheck=' | tr '\\n' , || true)
      mkdir -p /run/systemd/system/etcd.service.d
      echo \"ETCD_FEATURE_GATES=\${gates}InitialCorruptCheck=false\" >/run/etcd-first-start.env
      printf '[Service]\\nEnvironmentFile=/run/etcd-first-start.env\\n' >/run/systemd/system/etcd.service.d/first-start.conf
      systemctl daemon-reload
    fi" >"$tmp/restore.$i"
  echo "$EPOCHREALTIME" >"$tmp/restored.$i"
}

unset_first_start() {
  ssh "${opts[@]}" "root@${ips[$1]}" 'rm -f /run/systemd/system/etcd.service.d/first-start.conf /run/etcd-first-start.env && systemctl daemon-reload'
}

# The leader's IP, from `endpoint status` (MemberID and Leader come before Endpoint in its fields output).
leader_ip() {
  ETCDCTL_API=3 "$etcdctl" --endpoints="${endpoints%,}" --cacert="$admin/ca.crt" --cert="$admin/admin.crt" --key="$admin/admin.key" \
    --dial-timeout=1s --command-timeout=2s endpoint status -w fields |
    awk '/^"MemberID"/ { id = $3 } /^"Leader"/ { lead = $3 } /^"Endpoint"/ && id == lead { gsub(/"|https:\/\/|:2379/, "", $3); print $3; exit }'
}

start_host() {
  ssh "${opts[@]}" "root@${ips[$1]}" 'systemctl start --no-block etcd'
}

endpoints=$(printf 'https://%s:2379,' "${ips[@]}")
t_start=$EPOCHREALTIME
on_all copy_host
t_copied=$EPOCHREALTIME
if [ -n "${LEADER_LAST:-}" ]; then
  leader=$(leader_ip)
  [ -n "$leader" ] || { echo "recipe-restore: no leader found" >&2; exit 1; }
  pids=()
  for ip in "${ips[@]}"; do
    if [ "$ip" != "$leader" ]; then
      ssh "${opts[@]}" "root@$ip" 'systemctl stop etcd' &
      pids+=($!)
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  ssh "${opts[@]}" "root@$leader" 'systemctl stop etcd'
fi
on_all restore_host
t_restored=$EPOCHREALTIME
on_all start_host
wait_healthy recipe-restore: "$etcdctl" "${endpoints%,}" "$admin/ca.crt" "$admin/admin.crt" "$admin/admin.key" --cluster
t_healthy=$EPOCHREALTIME
[ -z "${NO_FIRST_CHECK:-}" ] || on_all unset_first_start
t_end=$EPOCHREALTIME

for i in "${!ips[@]}"; do
  stopped=$(sed -n 's/^stopped //p' "$tmp/restore.$i")
  echo "host ${names[$i]} ${ips[$i]} copied $(<"$tmp/copied.$i") stopped $stopped restored $(<"$tmp/restored.$i")"
done
echo "phases start $t_start copied $t_copied restored $t_restored healthy $t_healthy end $t_end"
awk -v s="$t_start" -v e="$t_end" 'BEGIN { printf "total %.3f\n", e - s }'
