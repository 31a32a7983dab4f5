# Sourced by the bench recipe scripts: the one way they wait for etcd, as an operator's script would.
# wait_healthy <label> <etcdctl> <endpoints> <ca file> <cert file> <key file> [more `endpoint health` args]
# Polls `etcdctl endpoint health` every $poll s until it succeeds; after $timeout s says so on stderr
# (prefixed with <label>) and exits 1. $poll and $timeout are the calling script's.
wait_healthy() {
  local label=$1 etcdctl=$2 endpoints=$3 ca=$4 cert=$5 key=$6
  shift 6
  local deadline=$((SECONDS + timeout))
  until ETCDCTL_API=3 "$etcdctl" --endpoints="$endpoints" --cacert="$ca" --cert="$cert" --key="$key" \
    --dial-timeout=1s --command-timeout=2s endpoint health "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      echo "$label not healthy after ${timeout}s" >&2
      exit 1
    fi
    sleep "$poll"
  done
}
