#!/usr/bin/env bash
# The demo: a local control plane (etcd + kube-apiserver on loopback), Sluice, an AddressPool
# and sample Services that get addresses. `npm run demo -- stop` tears it all down.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="$PWD/.sluice/demo"
NODE="$PWD/node_modules/.bin/node"

stop() {
  if [ -f "$DIR/sluice.pid" ]; then
    kill "$(cat "$DIR/sluice.pid")" 2>/dev/null || true
    rm -f "$DIR/sluice.pid"
  fi
  [ -x "$NODE" ] && "$NODE" test/harness/cluster.ts down --dir "$DIR/cluster" || true
  echo "demo stopped"
}

if [ "${1:-}" = "stop" ]; then stop; exit 0; fi

bash scripts/ensure-deps.sh
bash scripts/ensure-system-packages.sh || echo "(continuing: only the L2 speaker needs them)" >&2
mkdir -p "$DIR"
[ -f "$DIR/sluice.pid" ] && stop >/dev/null

echo "==> starting a local control plane (the first run builds Kubernetes from source: several minutes)"
eval "$("$NODE" test/harness/cluster.ts up --dir "$DIR/cluster")"

echo "==> installing the CRDs and an address pool"
kubectl apply -f crds/ >/dev/null
kubectl wait --for=condition=Established -f crds/ --timeout=30s >/dev/null
kubectl apply -f examples/pool.yaml

echo "==> starting Sluice (logs: $DIR/sluice.log)"
"$NODE" src/main.ts controller --kubeconfig "$KUBECONFIG" --health-address 127.0.0.1:0 \
  --leader-election-namespace default >"$DIR/sluice.log" 2>&1 &
echo $! >"$DIR/sluice.pid"

echo "==> applying sample Services"
kubectl apply -f examples/demo-services.yaml
for svc in my-service pinned pinned-tcp dual; do
  for _ in $(seq 1 100); do
    ip=$(kubectl get svc "$svc" -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
    [ -n "$ip" ] && break
    sleep 0.2
  done
done

echo
kubectl get svc
echo
echo "==> why 'typo' has no address (kubectl describe svc typo):"
kubectl get events --field-selector involvedObject.name=typo,type=Warning -o custom-columns=REASON:.reason,MESSAGE:.message
kubectl get svc typo -o jsonpath='{range .status.conditions[*]}condition {.type}={.status} reason={.reason}: {.message}{"\n"}{end}'
cat <<MSG

The demo keeps running. Try it yourself:
  export KUBECONFIG=$KUBECONFIG
  export PATH=$(dirname "$(command -v kubectl)"):\$PATH
  kubectl describe svc my-service
Stop everything with:  npm run demo -- stop
MSG
