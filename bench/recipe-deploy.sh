#!/usr/bin/env bash
# The seed recipe's deploy done by hand, the way a competent person would script it: every host in
# parallel (ssh: user + dirs; one scp of the whole /opt/etcd tree; ssh: owners, modes, unit, start), then
# poll `etcdctl endpoint health` from the controller until every member answers. Plain OpenSSH client,
# no ControlMaster (set RECIPE_SSH_OPTS to try it). The baseline of bench/deploy.ts.
#
#   recipe-deploy.sh STAGE_DIR IP...
#
# STAGE_DIR/<ip>/etcd/ is the host's /opt/etcd tree, prepared beforehand: bin/{etcd,etcdctl},
# ssl/{ca.crt,server.crt,server.key,peer.crt,peer.key}, cfg/{etcd.env,etcdctl.env,etcd.service}.
# STAGE_DIR/admin/{ca.crt,admin.crt,admin.key}: the client certificate the health poll uses.
# Environment: SSH_KEY, KNOWN_HOSTS (required); POLL_S (sleep between polls, default 0.25);
# HEALTH_TIMEOUT_S (default 60); RECIPE_SSH_OPTS (extra ssh/scp options, word-split).
# Prints `hosts-ready <s> healthy <s>`: seconds from start until every host was set up and until healthy.
set -euo pipefail
export LC_ALL=C
. "$(dirname "$0")/lib/recipe-wait.sh"

stage=$1
shift
: "${SSH_KEY:?}" "${KNOWN_HOSTS:?}"
poll=${POLL_S:-0.25}
timeout=${HEALTH_TIMEOUT_S:-60}
# shellcheck disable=SC2206
opts=(-i "$SSH_KEY" -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$KNOWN_HOSTS" ${RECIPE_SSH_OPTS:-})

deploy_host() {
  local ip=$1
  ssh "${opts[@]}" "root@$ip" '
    id -u etcd >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /var/lib/etcd --shell /usr/sbin/nologin etcd
    mkdir -p /opt/etcd && install -d -m 0700 -o etcd -g etcd /var/lib/etcd'
  scp -q -r "${opts[@]}" "$stage/$ip/etcd" "root@$ip:/opt/"
  ssh "${opts[@]}" "root@$ip" '
    set -e
    mv /opt/etcd/cfg/etcd.service /etc/systemd/system/etcd.service && chmod 0644 /etc/systemd/system/etcd.service
    chown -R root:root /opt/etcd/bin && chmod 0755 /opt/etcd/bin /opt/etcd/bin/*
    chown -R etcd:etcd /opt/etcd/ssl && chmod 0700 /opt/etcd/ssl && chmod 0644 /opt/etcd/ssl/*.crt && chmod 0600 /opt/etcd/ssl/*.key
    chown -R root:etcd /opt/etcd/cfg && chmod 0750 /opt/etcd/cfg && chmod 0640 /opt/etcd/cfg/*
    systemctl daemon-reload && systemctl enable --quiet etcd && systemctl start --no-block etcd'
}

started=$EPOCHREALTIME
pids=()
for ip in "$@"; do
  deploy_host "$ip" &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  wait "$pid" || { echo "recipe-deploy: a host failed" >&2; exit 1; }
done

hosts_done=$EPOCHREALTIME
endpoints=$(printf 'https://%s:2379,' "$@")
wait_healthy recipe-deploy: etcdctl "${endpoints%,}" "$stage/admin/ca.crt" "$stage/admin/admin.crt" "$stage/admin/admin.key"
# Phase times for the benchmark: hosts set up, then etcd healthy (seconds since start).
awk -v s="$started" -v h="$hosts_done" -v e="$EPOCHREALTIME" 'BEGIN { printf "hosts-ready %.3f healthy %.3f\n", h - s, e - s }'
