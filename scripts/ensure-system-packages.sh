#!/usr/bin/env bash
# Installs the Debian packages that `sluice speaker` and its network-namespace tests run, when they are
# missing: iproute2 (ip), iputils-arping (arping: gratuitous ARP) and ipv6toolkit (na6: unsolicited
# IPv6 neighbour advertisements). As root with apt-get it installs them quietly; otherwise it says what
# to install and exits 1.
set -euo pipefail

# command:package pairs
needed=(ip:iproute2 arping:iputils-arping na6:ipv6toolkit openssl:openssl)

found() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] || [ -x "/usr/bin/$1" ]
}

missing=()
for pair in "${needed[@]}"; do
  found "${pair%%:*}" || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "installing system packages: ${missing[*]}" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1
}
# The package lists may be absent or stale on a fresh machine: refresh them only when needed.
if ! install; then
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 && install; }; then
    cat "$log" >&2
    echo "could not install: ${missing[*]}" >&2
    exit 1
  fi
fi
for pair in "${needed[@]}"; do
  if ! found "${pair%%:*}"; then
    echo "${pair#*:} is installed but ${pair%%:*} is still not found" >&2
    exit 1
  fi
done
