#!/usr/bin/env bash
# Fetches the Debian 12 reference packages (crowdsec 1.4.6: hub snapshot, grok patterns, data
# files, the crowdsec/cscli binaries) and unpacks them into .cache/crowdsec-deb/root, the layout
# test/support/debian.ts expects. Idempotent: a package already downloaded is not fetched again,
# one already unpacked (marker file) is not unpacked again.
#
# The packages are unpacked, never installed: crowdsec's postinst registers with the Central
# API, which is unreachable in CI, and the binaries run as-is from the unpacked tree.
#
# Usage: scripts/setup-reference.sh [PACKAGE...]   (default: crowdsec)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${PALISADE_DEB_CACHE:-$repo/.cache/crowdsec-deb}"
root="$cache/root"
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(crowdsec)

mkdir -p "$cache" "$root"
cd "$cache"

for pkg in "${packages[@]}"; do
  deb="$(ls -1 "${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -z "$deb" ]; then
    echo "setup-reference: downloading $pkg"
    # apt-get download warns when running unsandboxed as root; harmless.
    apt-get download "$pkg"
    deb="$(ls -1 "${pkg}"_*.deb | sort -V | tail -n 1)"
  fi
  version="$(dpkg-deb -f "$deb" Version)"
  marker="$root/.unpacked-${pkg}_${version}"
  if [ -e "$marker" ]; then
    echo "setup-reference: $pkg $version already unpacked"
    continue
  fi
  echo "setup-reference: unpacking $deb"
  dpkg -x "$deb" "$root"
  touch "$marker"
done

# The reference for the compatibility tests is crowdsec 1.4.6 exactly (Debian 12).
if [[ " ${packages[*]} " == *" crowdsec "* ]]; then
  v="$(dpkg-deb -f "$(ls -1 crowdsec_*.deb | sort -V | tail -n 1)" Version)"
  case "$v" in
    1.4.6*) ;;
    *) echo "setup-reference: expected crowdsec 1.4.6, apt gave $v" >&2; exit 1 ;;
  esac
  for p in usr/bin/crowdsec usr/bin/cscli usr/share/crowdsec/hub/.index.json etc/crowdsec/patterns usr/share/crowdsec/data; do
    [ -e "$root/$p" ] || { echo "setup-reference: $root/$p missing after unpack" >&2; exit 1; }
  done
  echo "setup-reference: crowdsec $v ready in $root"
fi
