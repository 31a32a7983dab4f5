#!/usr/bin/env bash
# Builds the testbed's Debian 12 root filesystem into $1 (a fresh temp dir; the caller renames it into the
# cache only when this script succeeds, so a crash never leaves a half-built cache).
# Usage: build-rootfs.sh <target-dir> <mirror-url>
# The hash of this file is the cache's version stamp: any edit here (package list, configuration) rebuilds.
set -euo pipefail
target=$1
mirror=$2
suite=bookworm

# Just enough for a systemd host that etcd-kit can reach over SSH and manage: systemd as PID 1, dbus for
# systemctl, sshd, sudo for the non-root deploy user, iproute2 (ss, ip) and procps (ps, pgrep) for checks,
# nftables (the `nft` tool) so tests can put a host behind a real firewall.
packages=systemd,systemd-sysv,dbus,openssh-server,iproute2,procps,sudo,nftables

debootstrap --variant=minbase --include="$packages" "$suite" "$target" "$mirror"

in_root() { chroot "$target" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# --- SSH: key-only logins; the only host key is the per-host one the testbed writes at start.
rm -f "$target"/etc/ssh/ssh_host_*
cat >"$target/etc/ssh/sshd_config.d/etcd-kit-testbed.conf" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
in_root systemctl enable ssh.service >/dev/null

# --- Firewall: installed, but no host starts with one (tests that want it load a ruleset with `nft -f`).
# Debian does not enable nftables.service; disable it anyway, so a packaging change cannot turn it on.
in_root systemctl disable --quiet nftables.service

# --- Users: root, `deployer` (passwordless sudo), `nosudo` (no sudo). Passwords stay locked: key-only.
in_root useradd --create-home --shell /bin/bash deployer
in_root useradd --create-home --shell /bin/bash nosudo
echo 'deployer ALL=(ALL:ALL) NOPASSWD: ALL' >"$target/etc/sudoers.d/deployer"
chmod 0440 "$target/etc/sudoers.d/deployer"
for home in root home/deployer home/nosudo; do
  install -d -m 0700 "$target/$home/.ssh"
done
in_root chown deployer:deployer /home/deployer/.ssh
in_root chown nosudo:nosudo /home/nosudo/.ssh

# --- Boot: only what a server needs. No consoles (nobody logs in there), no timers that would wake apt or
# scrub disks, no first-boot wizardry (each host gets its own machine-id at start).
for unit in \
  console-getty.service getty@.service getty.target \
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer fstrim.timer \
  e2scrub_all.timer e2scrub_reap.service \
  systemd-firstboot.service systemd-networkd-wait-online.service systemd-timesyncd.service \
  systemd-hwdb-update.service systemd-journal-catalog-update.service; do
  ln -sf /dev/null "$target/etc/systemd/system/$unit"
done
: >"$target/etc/machine-id"
rm -f "$target/etc/hostname" "$target/var/lib/dbus/machine-id"
echo 'LANG=C.UTF-8' >"$target/etc/default/locale"
# Names resolve locally only: each host's start adds every testbed host to its own /etc/hosts (sudo looks the
# local hostname up, and complains on stderr if it cannot). No DNS server exists on the testbed's network.
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$target/etc/hosts"
: >"$target/etc/resolv.conf"

# --- Size: drop the downloaded packages and lists (the hosts never reach a mirror).
rm -rf "$target"/var/cache/apt/archives/*.deb "$target"/var/lib/apt/lists/*
