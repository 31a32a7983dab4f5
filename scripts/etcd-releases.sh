#!/usr/bin/env bash
# Real etcd binaries of every supported minor, cached as release tarballs in the official layout, for the
# tests, the demo and the benchmarks (test/helpers/etcd-releases.ts reads what this writes). Debian 12, as root.
#
#   bash scripts/etcd-releases.sh            # ETCD_KIT_RELEASES_DIR overrides /var/cache/etcd-kit-releases
#
# Sources (these machines cannot download etcd's GitHub release assets; they do reach Debian's archive and
# Go's module proxy):
#   debian bookworm  the installed etcd-server/etcd-client packages (/usr/bin/etcd, /usr/bin/etcdctl)
#   debian trixie    etcd-server/etcd-client .debs fetched with a private apt configuration
#   debian sid       the same; its version moves, so it is re-read on every run
#   go modules       every test/etcd-build/versions/vX.Y.Z.mod, built from etcd's own Go modules
# For every version it keeps, in the output dir:
#   etcd-vX.Y.Z-linux-ARCH.tar.gz   top dir etcd-vX.Y.Z-linux-ARCH/{etcd,etcdctl[,etcdutl],README.md}
#   etcd-vX.Y.Z-linux-ARCH/         the same, unpacked (tests run the binaries in place)
#   etcd-vX.Y.Z-linux-ARCH.stamp    what it was made from; the release counts as done only when this matches
# and releases.json, the manifest of the current set, oldest version first.
# Idempotent: a second run rebuilds nothing and only prints what is cached. Never touches the machine's apt
# configuration and never installs the packages it downloads.
set -euo pipefail
export LC_ALL=C

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Absolute: the manifest holds absolute paths, and apt is given absolute directories.
out_dir=$(realpath -m "${ETCD_KIT_RELEASES_DIR:-/var/cache/etcd-kit-releases}")
build_module=$repo_root/test/etcd-build
apt_dir=$out_dir/apt
debian_keyring=/usr/share/keyrings/debian-archive-keyring.gpg
debian_suites=(trixie sid)
# Private package lists younger than this are not refreshed (the version selection is still re-read).
apt_lists_max_age_minutes=1440
# Part of every stamp: bump it when what this script puts in a release changes, and everything is rebuilt.
layout_version=1
go_build_flags=(-trimpath -ldflags '-s -w')
go_build_flags_text="-trimpath -ldflags '-s -w'" # the same, as a README shows it

die() {
  echo "etcd-releases: $*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------------------
# Bookkeeping shared by every source

declare -A release_source=() # version -> source of the release this run keeps
kept_versions=()

# Official etcd tarballs use Go's architecture names, dpkg uses Debian's.
release_arch() {
  local arch
  arch=$(dpkg --print-architecture)
  case $arch in
    amd64 | arm64 | riscv64 | s390x) echo "$arch" ;;
    ppc64el) echo ppc64le ;;
    *) die "unsupported architecture '$arch' (etcd ships linux-amd64, -arm64, -ppc64le, -riscv64, -s390x)" ;;
  esac
}
arch=$(release_arch)

release_name() { echo "etcd-v$1-linux-$arch"; }
stamp_path() { echo "$out_dir/$(release_name "$1").stamp"; }
stamp_field() { sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n 1; }

seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
report() { printf '%-8s %-16s %-7s %6s s\n' "$1" "$2" "$3" "$4"; }

# Two sources can offer the same version (sid catching up with a Go build, trixie == sid during a freeze):
# the first claim wins, so each version has exactly one tarball. Returns 1 when already claimed.
claim_version() {
  local version=$1 source=$2
  if [ -n "${release_source[$version]:-}" ]; then
    report "$version" "$source" skipped "0.0"
    echo "         (same version as the ${release_source[$version]} release, which is kept)"
    return 1
  fi
  release_source[$version]=$source
  kept_versions+=("$version")
}

# Done = tarball, unpacked dir and a stamp made from the same inputs. The stamp is written last, so a run
# that died half-way never counts as done.
release_is_current() {
  local version=$1 inputs=$2 name stamp
  name=$(release_name "$version")
  stamp=$(stamp_path "$version")
  [ -f "$out_dir/$name.tar.gz" ] && [ -d "$out_dir/$name" ] && [ "$(stamp_field "$stamp" inputs)" = "$inputs" ]
}

# A fresh staging dir on the output's filesystem (so the final moves are renames) holding the empty top dir.
# World-traversable so apt's _apt user can write the .debs it downloads below it.
new_stage() {
  local stage
  stage=$(mktemp -d "$out_dir/.tmp.XXXXXX")
  chmod 0755 "$stage"
  mkdir "$stage/$(release_name "$1")"
  echo "$stage"
}

# The versions the binaries themselves report must be the version the release is named after.
check_binary_versions() {
  local dir=$1 version=$2
  expect_first_line "etcd Version: $version" "$dir/etcd" --version
  expect_first_line "etcdctl version: $version" "$dir/etcdctl" version
  if [ -e "$dir/etcdutl" ]; then expect_first_line "etcdutl version: $version" "$dir/etcdutl" version; fi
}
expect_first_line() {
  local want=$1 output
  shift
  output=$("$@" 2>/dev/null) || die "$* failed (exit $?)"
  [ "${output%%$'\n'*}" = "$want" ] || die "$* says '${output%%$'\n'*}', expected '$want'"
}

# Packs the staged top dir (binaries already in it) into the tarball, then renames dir and tarball into the
# output dir and writes the stamp (temp + rename) as the very last step.
publish_release() {
  local version=$1 source=$2 inputs=$3 readme=$4 stage=$5 name stamp sha
  name=$(release_name "$version")
  stamp=$(stamp_path "$version")
  check_binary_versions "$stage/$name" "$version"
  printf '%s\n' "$readme" >"$stage/$name/README.md"
  chmod 0755 "$stage/$name" "$stage/$name"/etcd*
  chmod 0644 "$stage/$name/README.md"
  # Sorted, root-owned entries as in etcd's own tarballs (no local uid in them); gzip -n: no name/time header.
  tar --sort=name --owner=0 --group=0 --numeric-owner -C "$stage" -cf - "$name" | gzip -n >"$stage/$name.tar.gz"
  sha=$(sha256sum "$stage/$name.tar.gz" | cut -d ' ' -f 1)
  rm -f "$stamp"
  rm -rf "${out_dir:?}/$name"
  mv "$stage/$name" "$out_dir/$name"
  mv -f "$stage/$name.tar.gz" "$out_dir/$name.tar.gz"
  printf 'source=%s\ninputs=%s\nsha256=%s\n' "$source" "$inputs" "$sha" >"$stage/stamp"
  mv -f "$stage/stamp" "$stamp"
  rm -rf "$stage"
}

# ---------------------------------------------------------------------------------------------------------
# Source: Debian 12's installed etcd-server/etcd-client (3.4; scripts/install-system-deps.sh installs them)

bookworm_release() {
  local started=$EPOCHREALTIME server client version inputs stage
  server=$(dpkg-query -W -f='${Version}' etcd-server 2>/dev/null) || true
  client=$(dpkg-query -W -f='${Version}' etcd-client 2>/dev/null) || true
  [ -n "$server" ] && [ -n "$client" ] && [ -x /usr/bin/etcd ] && [ -x /usr/bin/etcdctl ] ||
    die "Debian's etcd-server and etcd-client are not installed: run bash scripts/install-system-deps.sh"
  version=$(/usr/bin/etcd --version | sed -n 's/^etcd Version: //p')
  [ -n "$version" ] || die "cannot read the version of /usr/bin/etcd"
  claim_version "$version" "debian bookworm" || return 0
  inputs="layout=$layout_version etcd-server=$server etcd-client=$client"
  if release_is_current "$version" "$inputs"; then
    report "$version" "debian bookworm" cached "$(seconds_since "$started")"
    return 0
  fi
  stage=$(new_stage "$version")
  cp -p /usr/bin/etcd /usr/bin/etcdctl "$stage/$(release_name "$version")/"
  publish_release "$version" "debian bookworm" "$inputs" "# etcd v$version (linux-$arch)

Repacked by etcd-kit's scripts/etcd-releases.sh for its tests, demo and benchmarks; not an official etcd release.
Source: this machine's Debian 12 (bookworm) packages etcd-server $server (/usr/bin/etcd) and
etcd-client $client (/usr/bin/etcdctl). Debian's 3.4 packages have no etcdutl." "$stage"
  report "$version" "debian bookworm" built "$(seconds_since "$started")"
}

# ---------------------------------------------------------------------------------------------------------
# Source: Debian trixie and sid packages, downloaded with a private apt configuration under $apt_dir

apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir"
  -o "Dir::Cache::Archives=$apt_dir/archives"
  # Keep apt's binary package cache even where the machine disables it (Debian's docker images do): reading
  # the selection then takes milliseconds instead of a second of parsing the lists on every run. The source
  # package cache (another 70 MB) buys nothing here.
  -o Dir::Cache::pkgcache=pkgcache.bin
  -o Dir::Cache::srcpkgcache=
)

# The machine's own Debian mirror: the first deb URI whose suite is this machine's codename (the security
# archive's suite is "<codename>-security", so it is never picked). deb822 .sources first, then classic lines.
debian_mirror_uri() {
  local codename uri=''
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
  local deb822=(/etc/apt/sources.list.d/*.sources) classic=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list)
  if [ -e "${deb822[0]}" ]; then
    uri=$(awk -v want="$codename" '
      BEGIN { RS = ""; FS = "\n" }
      {
        split("", field); key = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^#/) continue
          if ($i ~ /^[ \t]/ && key != "") { field[key] = field[key] " " $i; continue }
          colon = index($i, ":"); if (!colon) continue
          key = tolower(substr($i, 1, colon - 1)); field[key] = " " substr($i, colon + 1) " "
        }
        if (tolower(field["enabled"]) ~ /no/ || field["types"] !~ /[ \t]deb[ \t]/) next
        if (field["suites"] !~ ("[ \t]" want "[ \t]")) next
        n = split(field["uris"], uris, /[ \t]+/)
        for (j = 1; j <= n; j++) if (uris[j] != "") { print uris[j]; exit }
      }' "${deb822[@]}" | head -n 1) || true
  fi
  if [ -z "$uri" ]; then
    uri=$(cat "${classic[@]}" 2>/dev/null | sed -E 's/#.*//; s/\[[^]]*\]//' |
      awk -v want="$codename" '$1 == "deb" && $3 == want { print $2; exit }') || true
  fi
  [ -n "$uri" ] || die "no Debian mirror for '$codename' in /etc/apt/sources.list.d/*.sources or sources.list: cannot fetch the trixie/sid etcd packages"
  echo "$uri"
}

# Writes the private sources list (only the native architecture's Packages index: no translations, no
# DEP-11) and refreshes the private lists when they are older than a day or the sources changed.
prepare_private_apt() {
  local mirror=$1 sources suite
  [ -r "$debian_keyring" ] || die "$debian_keyring is missing: apt-get install debian-archive-keyring"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
  sources=$(for suite in "${debian_suites[@]}"; do
    echo "deb [signed-by=$debian_keyring arch=$(dpkg --print-architecture) lang=none target=Packages] $mirror $suite main"
  done)
  if [ "$(cat "$apt_dir/sources.list" 2>/dev/null)" != "$sources" ]; then
    printf '%s\n' "$sources" >"$apt_dir/sources.list"
    rm -f "$apt_dir/lists-updated"
  fi
  if [ -n "$(find "$apt_dir/lists-updated" -mmin "-$apt_lists_max_age_minutes" 2>/dev/null)" ]; then
    return 0
  fi
  if ! apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 || grep -qE '^[EW]: (Failed to fetch|Some index files failed)' "$apt_dir/update.log"; then
    tail -n 20 "$apt_dir/update.log" >&2
    die "apt-get update of the private lists for ${debian_suites[*]} failed: is the mirror $mirror reachable?"
  fi
  touch "$apt_dir/lists-updated"
}

declare -A debian_version=() # "package suite" -> Debian version, e.g. [etcd-server sid]=3.5.30-2

# Reads which version each suite offers from the private lists, on every run (sid moves). `apt-cache
# madison` prints "etcd-server | 3.5.30-2 | http://deb.debian.org/debian sid/main amd64 Packages".
read_debian_selection() {
  local package version suite
  while read -r package version suite; do
    [ -n "${debian_version[$package $suite]:-}" ] || debian_version[$package $suite]=$version
  done < <(apt-cache "${apt_opts[@]}" madison etcd-server etcd-client 2>/dev/null |
    awk -F '|' '{ gsub(/ /, "", $1); gsub(/ /, "", $2); split($3, where, " "); split(where[2], s, "/"); print $1, $2, s[1] }')
}

# Debian version -> upstream version: 1:3.5.16+ds-4 -> 3.5.16 (epoch, Debian revision, +ds/~ suffixes).
upstream_version() { sed -E 's/^[0-9]+://; s/-[^-]*$//; s/[+~].*$//' <<<"$1"; }

debian_suite_release() {
  local suite=$1 mirror=$2 started=$EPOCHREALTIME server client version inputs stage top
  server=${debian_version[etcd-server $suite]:-}
  client=${debian_version[etcd-client $suite]:-}
  [ -n "$server" ] && [ -n "$client" ] || die "Debian $suite on $mirror has no etcd-server/etcd-client package"
  version=$(upstream_version "$server")
  [ "$(upstream_version "$client")" = "$version" ] || die "Debian $suite: etcd-server $server and etcd-client $client differ"
  claim_version "$version" "debian $suite" || return 0
  inputs="layout=$layout_version etcd-server=$server etcd-client=$client"
  if release_is_current "$version" "$inputs"; then
    report "$version" "debian $suite" cached "$(seconds_since "$started")"
    return 0
  fi
  stage=$(new_stage "$version")
  top=$stage/$(release_name "$version")
  mkdir "$stage/debs" "$stage/root"
  # apt drops privileges to _apt for downloads: give it the target dir (else it warns and runs as root).
  if id -u _apt >/dev/null 2>&1; then chown _apt "$stage/debs"; fi
  (cd "$stage/debs" && apt-get "${apt_opts[@]}" -q download "etcd-server=$server" "etcd-client=$client") >"$stage/download.log" 2>&1 ||
    { cat "$stage/download.log" >&2; die "apt-get download of etcd-server/etcd-client $server from Debian $suite ($mirror) failed"; }
  local deb
  for deb in "$stage"/debs/*.deb; do dpkg-deb -x "$deb" "$stage/root"; done
  local binary
  for binary in etcd etcdutl etcdctl; do
    [ -x "$stage/root/usr/bin/$binary" ] || die "Debian $suite's etcd packages $server have no usr/bin/$binary"
    mv "$stage/root/usr/bin/$binary" "$top/"
  done
  rm -rf "$stage/debs" "$stage/root" "$stage/download.log"
  publish_release "$version" "debian $suite" "$inputs" "# etcd v$version (linux-$arch)

Repacked by etcd-kit's scripts/etcd-releases.sh for its tests, demo and benchmarks; not an official etcd release.
Source: Debian $suite packages etcd-server $server (usr/bin/etcd, usr/bin/etcdutl) and etcd-client $client
(usr/bin/etcdctl) from $mirror, signatures checked by apt against $debian_keyring, unpacked with dpkg-deb -x." "$stage"
  report "$version" "debian $suite" built "$(seconds_since "$started")"
}

debian_download_releases() {
  local mirror suite
  mirror=$(debian_mirror_uri)
  prepare_private_apt "$mirror"
  read_debian_selection
  for suite in "${debian_suites[@]}"; do debian_suite_release "$suite" "$mirror"; done
}

# ---------------------------------------------------------------------------------------------------------
# Source: etcd's Go modules, through the wrapper module in test/etcd-build (one versions/vX.Y.Z.mod per release)

go_command() {
  # sudo's secure_path usually lacks /usr/local/go/bin, where go.dev's tarball installs Go.
  command -v go || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; } ||
    die "go is missing: the Go-module builds (test/etcd-build/versions/*.mod) need Go >= 1.26 — install it from https://go.dev/dl/ into /usr/local/go and put /usr/local/go/bin on PATH"
}

# Everything the binaries are built from: Go version, build flags, the version's .mod/.sum, every .go file.
go_build_inputs() {
  local go=$1 modfile=$2 sumfile=$3
  {
    "$go" version
    echo "${go_build_flags[*]}"
    cd "$build_module"
    sha256sum go.mod "$modfile" "$sumfile"
    find . -name '*.go' -print0 | sort -z | xargs -0 -r sha256sum
  } | sha256sum | cut -d ' ' -f 1
}

go_module_release() {
  local go=$1 modfile=$2 started=$EPOCHREALTIME version sumfile tag inputs stage top minor
  version=$(basename "$modfile" .mod)
  version=${version#v}
  sumfile=${modfile%.mod}.sum
  [ -f "$build_module/$sumfile" ] || die "test/etcd-build/$sumfile is missing (go mod tidy -modfile=$modfile)"
  # etcdutl's command list differs per minor: build tag etcd35, etcd36, etcd37, ...
  minor=${version%.*}
  tag=etcd${minor//./}
  claim_version "$version" "go modules" || return 0
  inputs="layout=$layout_version go-build=$(go_build_inputs "$go" "$modfile" "$sumfile")"
  if release_is_current "$version" "$inputs"; then
    report "$version" "go modules" cached "$(seconds_since "$started")"
    return 0
  fi
  stage=$(new_stage "$version")
  top=$stage/$(release_name "$version")
  # -mod=readonly: never rewrite the checked-in .mod/.sum; -buildvcs=false: the binaries must not depend on
  # this repository's git state. CGO_ENABLED=0 as etcd's own release builds.
  (cd "$build_module" && CGO_ENABLED=0 GOFLAGS='-mod=readonly -buildvcs=false' \
    "$go" build "${go_build_flags[@]}" -modfile="$modfile" -tags "$tag" -o "$top/" ./etcd ./etcdctl ./etcdutl) ||
    die "go build of etcd $version failed (test/etcd-build/$modfile; needs the module cache or GOPROXY=$("$go" env GOPROXY))"
  publish_release "$version" "go modules" "$inputs" "# etcd v$version (linux-$arch)

Built by etcd-kit's scripts/etcd-releases.sh for its tests, demo and benchmarks; not an official etcd release.
Source: etcd's Go modules go.etcd.io/etcd/{server,etcdctl,etcdutl}/v3 v$version (pinned in
test/etcd-build/$modfile and .sum), mains as etcd's server/main.go, etcdctl/main.go and etcdutl/ctl.go.
Built with $("$go" version | cut -d ' ' -f 3): CGO_ENABLED=0 go build $go_build_flags_text -tags $tag" "$stage"
  report "$version" "go modules" built "$(seconds_since "$started")"
}

go_module_releases() {
  local go modfile
  go=$(go_command)
  local modfiles=("$build_module"/versions/v*.mod)
  [ -e "${modfiles[0]}" ] || die "no test/etcd-build/versions/v*.mod: nothing to build"
  for modfile in "${modfiles[@]}"; do go_module_release "$go" "versions/$(basename "$modfile")"; done
}

# ---------------------------------------------------------------------------------------------------------
# The manifest and the clean-up of what the sources no longer provide

# Releases this script made (they have a stamp) for versions no source offers any more, e.g. sid's last one.
remove_stale_releases() {
  local stamp version
  for stamp in "$out_dir"/etcd-v*-linux-"$arch".stamp; do
    [ -e "$stamp" ] || continue
    version=${stamp##*/etcd-v}
    version=${version%-linux-"$arch".stamp}
    [ -n "${release_source[$version]:-}" ] && continue
    report "$version" "$(stamp_field "$stamp" source)" removed "0.0"
    rm -f "$stamp" # first: a half-removed release must not count as done
    rm -rf "${out_dir:?}/$(release_name "$version")" "$out_dir/$(release_name "$version").tar.gz"
  done
}

remove_temp_files() { rm -rf "$out_dir"/.tmp.* "$out_dir"/.releases.json.*; }

json_string() {
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

write_manifest() {
  local version name stamp first=1 tmp
  tmp=$(mktemp "$out_dir/.releases.json.XXXXXX")
  {
    echo '['
    while read -r version; do
      name=$(release_name "$version")
      stamp=$(stamp_path "$version")
      ((first)) || echo ','
      first=0
      printf '  { "version": %s, "source": %s, "tarball": %s, "binDir": %s, "sha256": %s }' \
        "$(json_string "$version")" "$(json_string "${release_source[$version]}")" \
        "$(json_string "$out_dir/$name.tar.gz")" "$(json_string "$out_dir/$name")" \
        "$(json_string "$(stamp_field "$stamp" sha256)")"
    done < <(printf '%s\n' "${kept_versions[@]}" | sort -V | grep .)
    printf '\n]\n'
  } >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$out_dir/releases.json"
}

# ---------------------------------------------------------------------------------------------------------

main() {
  local started=$EPOCHREALTIME
  for tool in dpkg-deb apt-get apt-cache tar gzip sha256sum flock; do
    command -v "$tool" >/dev/null || die "$tool is missing (run bash scripts/install-system-deps.sh)"
  done
  mkdir -p "$out_dir" 2>/dev/null || die "cannot create $out_dir: run as root or set ETCD_KIT_RELEASES_DIR"
  # One run at a time (CI and the demo may start together). Holding the lock, every temp file is this
  # run's or a leftover of a run that died: remove them at the start and on exit.
  exec 9>"$out_dir/.lock"
  flock -n 9 || { echo "waiting for another etcd-releases.sh run on $out_dir"; flock 9; }
  remove_temp_files
  trap remove_temp_files EXIT

  echo "etcd releases in $out_dir (linux-$arch):"
  # Claim order decides which source keeps a version two of them offer: Go builds of upstream's tags
  # first, then Debian from the most stable suite down.
  go_module_releases
  bookworm_release
  debian_download_releases
  remove_stale_releases
  write_manifest
  echo "releases.json: ${#kept_versions[@]} releases, $(seconds_since "$started") s"
}

main "$@"
