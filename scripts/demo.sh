#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine as root: install what is missing, cache the etcd releases,
# build, then bring up three sandbox hosts (systemd-nspawn), deploy a secure etcd cluster onto them with the
# public API (the newest cached etcd 3.6 unless --tarball names one), print its health, and tear everything
# down (--keep leaves the hosts and the cluster running).
#   bash scripts/demo.sh [--keep] [--tarball etcd-vX.Y.Z-linux-amd64.tar.gz] [--members 3]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "the demo starts containers and network namespaces: run it as root" >&2; exit 1; fi
bash scripts/install-system-deps.sh
bash scripts/etcd-releases.sh
[ -d node_modules/.bin ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
npm run --silent build
# grpc-js sends the endpoint IP as TLS server name (DEP0123): the IP SAN is still verified; hide the noise.
exec node --disable-warning=DEP0123 --import tsx scripts/demo.mts "$@"
