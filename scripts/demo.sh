#!/usr/bin/env bash
# The demo: a local control plane (etcd + kube-apiserver on loopback), Sluice, an AddressPool
# and sample Services that get addresses. `npm run demo -- stop` tears it all down.
# `npm run demo -- aws` / `-- azure` run Sluice's cloud provider against a simulated cloud instead.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="$PWD/.sluice/demo"
NODE="$PWD/node_modules/.bin/node"

stop() {
  for pidfile in "$DIR/sluice.pid" "$DIR/cloud.pid"; do
    if [ -f "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
    fi
  done
  [ -x "$NODE" ] && "$NODE" test/harness/cluster.ts down --dir "$DIR/cluster" || true
  echo "demo stopped"
}

if [ "${1:-}" = "stop" ]; then stop; exit 0; fi
CLOUD="${1:-pool}"
case "$CLOUD" in
  pool | aws | gcp | azure) ;;
  *) echo "usage: npm run demo [-- pool|aws|gcp|azure|stop]" >&2; exit 2 ;;
esac

bash scripts/ensure-deps.sh
bash scripts/ensure-system-packages.sh || echo "(continuing: only the L2 speaker needs them)" >&2
mkdir -p "$DIR"
[ -f "$DIR/sluice.pid" ] && stop >/dev/null

echo "==> starting a local control plane (the first run builds Kubernetes from source: several minutes)"
eval "$("$NODE" test/harness/cluster.ts up --dir "$DIR/cluster")"

echo "==> installing the CRDs"
kubectl apply -f crds/ >/dev/null
kubectl wait --for=condition=Established -f crds/ --timeout=30s >/dev/null

FLAGS=()
SERVICES=(my-service pinned pinned-tcp dual)
MANIFEST=examples/demo-services.yaml
if [ "$CLOUD" = "pool" ]; then
  echo "==> an address pool"
  kubectl apply -f examples/pool.yaml
else
  echo "==> starting the simulated cloud ($CLOUD) and its node instances"
  rm -f "$DIR/cloud.json"
  "$NODE" scripts/demo-cloud.ts "$CLOUD" "$DIR/cloud.json" >"$DIR/cloud.log" 2>&1 &
  echo $! >"$DIR/cloud.pid"
  for _ in $(seq 1 600); do [ -s "$DIR/cloud.json" ] && break; sleep 0.2; done
  [ -s "$DIR/cloud.json" ] || { echo "the simulated cloud did not start; see $DIR/cloud.log" >&2; exit 1; }
  json() { "$NODE" -e "const c=require('$DIR/cloud.json'); $1"; }
  json 'for (const n of c.nodes) console.log(JSON.stringify({apiVersion:"v1",kind:"Node",metadata:{name:n.name},spec:{providerID:n.providerID},status:n.internalIP?{addresses:[{type:"InternalIP",address:n.internalIP}]}:{}}))' |
    kubectl apply -f - >/dev/null
  mapfile -t FLAGS < <(json 'for (const f of c.flags) console.log(f)')
  while IFS= read -r pair; do export "${pair?}"; done < <(json 'for (const [k,v] of Object.entries(c.env)) console.log(k+"="+v)')
  CERT=$(json 'console.log((c.notes.find(n=>n.startsWith("certificate="))||"=").split("=")[1])')
  MANIFEST="$DIR/services-$CLOUD.yaml"
  sed "s|CERTIFICATE_ARN|$CERT|" "examples/demo-services-$CLOUD.yaml" >"$MANIFEST"
  SERVICES=(web internal)
fi

echo "==> starting Sluice (logs: $DIR/sluice.log)"
"$NODE" src/main.ts controller --kubeconfig "$KUBECONFIG" --health-address 127.0.0.1:0 \
  --leader-election-namespace default "${FLAGS[@]}" >"$DIR/sluice.log" 2>&1 &
echo $! >"$DIR/sluice.pid"

echo "==> applying sample Services"
kubectl apply -f "$MANIFEST"
for svc in "${SERVICES[@]}"; do
  for _ in $(seq 1 300); do
    address=$(kubectl get svc "$svc" -o jsonpath='{.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}')
    [ -n "$address" ] && break
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
  kubectl describe svc ${SERVICES[0]}
Stop everything with:  npm run demo -- stop
MSG
