#!/usr/bin/env bash
# Every test: lint, type check, unit tests, and the end-to-end tests against a real
# kube-apiserver + etcd (built once from the Go module proxy into ~/.cache/sluice).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash scripts/ensure-system-packages.sh
export PATH="$PWD/node_modules/.bin:$PATH"

echo "== lint and type check"
biome check .
tsc --noEmit -p .

echo "== test binaries (kube-apiserver, etcd, kubectl, helm)"
bash test/harness/build-binaries.sh >/dev/null

echo "== moto (the AWS simulator, in a venv under ~/.cache/sluice)"
bash scripts/ensure-moto.sh

echo "== tests"
# One test file at a time: the end-to-end files share one control plane and each runs its own
# Sluice processes, which must not see each other's Services.
exec node --test --test-concurrency=1 --test-global-setup=test/harness/global-setup.ts \
  --test-reporter=spec "${@:-test/**/*.test.ts}"
