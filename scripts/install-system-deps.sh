#!/usr/bin/env bash
# Installs the Debian packages etcd-kit's tests, demo and benchmarks use. Idempotent; needs root.
#  - etcd-server, etcd-client: real etcd 3.4 for tests and the demo's release tarball
#  - openssl: independent verification of issued certificates
#  - systemd-container, debootstrap, iproute2: the testbed hosts (systemd-nspawn in network namespaces)
#  - openssh-client: ssh-keygen for host keys and fingerprints
#  - systemd: `systemd-analyze verify` of rendered units (and kept at systemd-container's version)
set -euo pipefail
pkgs=(etcd-server etcd-client openssl systemd systemd-container debootstrap openssh-client iproute2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's etcd-server package starts a plaintext etcd on 127.0.0.1:2379 where systemd runs; the tests and
# the demo need neither it nor its ports.
if [ -d /run/systemd/system ] && systemctl is-active --quiet etcd 2>/dev/null; then
  systemctl disable --now etcd >/dev/null 2>&1 || true
fi
echo "system packages ready: ${pkgs[*]}"
