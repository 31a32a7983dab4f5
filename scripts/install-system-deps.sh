#!/usr/bin/env bash
# Installs the Debian packages etcd-kit's tests, demo and benchmarks use. Idempotent; needs root.
#  - etcd-server, etcd-client: real etcd 3.4 for tests and the demo's release tarball
#  - openssl: independent verification of issued certificates
#  - systemd-container, debootstrap, iproute2: the testbed hosts (systemd-nspawn in network namespaces)
#  - openssh-client: ssh-keygen for host keys and fingerprints
#  - systemd: `systemd-analyze verify` of rendered units (and kept at systemd-container's version)
#  - debian-archive-keyring, ca-certificates, xz-utils: scripts/etcd-releases.sh fetches Debian trixie/sid
#    etcd packages (signatures checked against the archive keyring; .debs are xz-compressed for dpkg-deb)
# It also checks for Go, which scripts/etcd-releases.sh builds etcd 3.5/3.6/3.7 with (not a Debian 12 package
# new enough: Go comes from go.dev).
set -euo pipefail
pkgs=(etcd-server etcd-client openssl systemd systemd-container debootstrap openssh-client iproute2
  debian-archive-keyring ca-certificates xz-utils)
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
# etcd's go.mod at 3.7 says go 1.26; sudo's secure_path often lacks /usr/local/go/bin, which is fine.
go_bin=$(command -v go || echo /usr/local/go/bin/go)
if ! [ -x "$go_bin" ]; then
  echo "go is missing: scripts/etcd-releases.sh builds etcd 3.5/3.6/3.7 from Go modules and needs Go >= 1.26." >&2
  echo "  get it from https://go.dev/dl/: tar -C /usr/local -xzf go1.26.*.linux-$(dpkg --print-architecture).tar.gz, then add /usr/local/go/bin to PATH" >&2
  exit 1
fi
echo "go ready: $("$go_bin" version)"
