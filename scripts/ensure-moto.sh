#!/usr/bin/env bash
# Installs, once, moto's server (the AWS simulator the AWS provider tests run against) into a Python
# venv outside the repository: ${SLUICE_CACHE:-~/.cache/sluice}/moto-<version>/bin/moto_server.
# Prints nothing when it is already there. Safe when two runs start together (one lock, and a stamp
# written only once the install is complete, so an interrupted install is redone, never half-used).
set -euo pipefail

MOTO_VERSION="5.2.5"
CACHE="${SLUICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}"
VENV="$CACHE/moto-$MOTO_VERSION"
STAMP="$VENV/.sluice-complete"

log() { printf 'ensure-moto: %s\n' "$*" >&2; }

[ -f "$STAMP" ] && [ -x "$VENV/bin/moto_server" ] && exit 0

mkdir -p "$CACHE"
exec 9>"$CACHE/moto-$MOTO_VERSION.lock"
flock 9
# Another run may have finished the install while this one waited for the lock.
[ -f "$STAMP" ] && [ -x "$VENV/bin/moto_server" ] && exit 0

python=""
for candidate in python3 python; do
  if command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  log "Python 3.9 or newer with the venv module is required (used only to run moto in tests)"
  log "on Debian: apt-get install python3 python3-venv"
  exit 1
fi

log "installing moto[server]==$MOTO_VERSION into $VENV"
rm -rf "$VENV"
output=$(mktemp)
trap 'rm -f "$output"' EXIT
if ! { "$python" -m venv "$VENV" &&
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "moto[server]==$MOTO_VERSION"; } >"$output" 2>&1; then
  cat "$output" >&2
  rm -rf "$VENV"
  log "could not install moto[server]==$MOTO_VERSION"
  exit 1
fi
"$VENV/bin/moto_server" --help >/dev/null 2>&1 || {
  rm -rf "$VENV"
  log "moto_server was installed but does not run"
  exit 1
}
echo "$MOTO_VERSION" >"$STAMP"
