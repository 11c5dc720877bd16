#!/usr/bin/env bash
# Installs the npm dependencies when package-lock.json changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.sluice-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "installing npm dependencies" >&2
  # `npm ci` rejects this lockfile for the optional platform packages of biome it leaves out;
  # `npm install --no-save` installs the locked versions all the same.
  npm install --no-save --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$stamp"
fi
