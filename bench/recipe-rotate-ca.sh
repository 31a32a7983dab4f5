#!/usr/bin/env bash
# A cluster CA replaced by hand, the way other tools document it (k0s' and kubespray's "regenerate the etcd
# certificates" procedures, kubeadm's manual CA rotation without the trust-both step): the controller's PKI
# dir already holds a new CA and every member and client certificate re-issued by it; then
#   1. copy: to every host at once, one ssh (`mkdir` a staging dir) + one scp of ca.crt and the host's own
#      server and peer pair;
#   2. stop: on every host at once, one ssh: `systemctl stop etcd`, then the five files moved over the ones
#      in SSL_DIR (owner and mode taken from the file replaced);
#   3. start: on every host at once, `systemctl start --no-block etcd` (a blocking start of the first member
#      would wait for a quorum that the others have not started yet);
#   4. poll `etcdctl endpoint health` on every endpoint from the controller with the new CA and admin
#      certificate, every POLL_S, until all answer.
# All members stop together because a member that trusts only the new CA and one that trusts only the old
# one cannot talk (peer mTLS): a rolling swap would split the cluster, so the procedure takes it down. The
# baseline of bench/rotate-ca.ts. Not tuned, as the guides give it (see recipe-restore.sh for both): stopping
# every member at once often makes the leader's shutdown wait for a leadership hand-off to a follower that
# is going away (~7 s), and members starting together with etcd-kit's InitialCorruptCheck gate wait for each
# other's hashes before they serve; both are part of this procedure's outage.
#
#   recipe-rotate-ca.sh PKI_DIR NAME=IP...
#
# PKI_DIR: ca.crt, members/<NAME>/{server,peer}.{crt,key}, clients/admin.{crt,key} (the new ones).
# Environment: SSH_KEY, KNOWN_HOSTS (required); ETCDCTL (controller's etcdctl, default `etcdctl`); SSL_DIR
# (on the hosts, default /opt/etcd/ssl); POLL_S (default 0.25); HEALTH_TIMEOUT_S (default 60);
# RECIPE_SSH_OPTS (extra ssh/scp options, word-split).
# Prints `phases start <t> copied <t> stopped <t> started <t> healthy <t>` (epoch seconds), then `total <s>`.
set -euo pipefail
export LC_ALL=C
. "$(dirname "$0")/lib/recipe-wait.sh"

pki=$1
shift
: "${SSH_KEY:?}" "${KNOWN_HOSTS:?}"
etcdctl=${ETCDCTL:-etcdctl}
ssl=${SSL_DIR:-/opt/etcd/ssl}
poll=${POLL_S:-0.25}
timeout=${HEALTH_TIMEOUT_S:-60}
stage=/var/tmp/etcd-ca-rotate
# shellcheck disable=SC2206
opts=(-i "$SSH_KEY" -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$KNOWN_HOSTS" ${RECIPE_SSH_OPTS:-})

# Runs "$@" once per NAME=IP argument of the script, all at once, with $name and $ip set; fails if any fails.
hosts=("$@")
on_every_host() {
  local pids=() hm
  for hm in "${hosts[@]}"; do
    name=${hm%%=*} ip=${hm#*=} "$@" &
    pids+=($!)
  done
  local p
  for p in "${pids[@]}"; do wait "$p"; done
}

copy() {
  ssh "${opts[@]}" "root@$ip" "rm -rf $stage && mkdir -m 0700 $stage"
  scp -q "${opts[@]}" "$pki/ca.crt" "$pki/members/$name/server.crt" "$pki/members/$name/server.key" \
    "$pki/members/$name/peer.crt" "$pki/members/$name/peer.key" "root@$ip:$stage/"
}

stop_and_swap() {
  ssh "${opts[@]}" "root@$ip" "
    set -e
    systemctl stop etcd
    for f in ca.crt server.crt server.key peer.crt peer.key; do
      chown --reference=$ssl/\$f $stage/\$f
      chmod --reference=$ssl/\$f $stage/\$f
      mv -f $stage/\$f $ssl/\$f
    done
    rmdir $stage"
}

start() {
  ssh "${opts[@]}" "root@$ip" 'systemctl start --no-block etcd'
}

endpoints=$(for hm in "${hosts[@]}"; do printf 'https://%s:2379,' "${hm#*=}"; done)
endpoints=${endpoints%,}

t_start=$EPOCHREALTIME
on_every_host copy
t_copied=$EPOCHREALTIME
on_every_host stop_and_swap
t_stopped=$EPOCHREALTIME
on_every_host start
t_started=$EPOCHREALTIME
wait_healthy recipe-rotate-ca: "$etcdctl" "$endpoints" "$pki/ca.crt" "$pki/clients/admin.crt" "$pki/clients/admin.key"
t_healthy=$EPOCHREALTIME
echo "phases start $t_start copied $t_copied stopped $t_stopped started $t_started healthy $t_healthy"
awk -v s="$t_start" -v e="$t_healthy" 'BEGIN { printf "total %.3f\n", e - s }'
