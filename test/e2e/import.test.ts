// `sluice import metallb` end to end: a MetalLB configuration file → the real CLI → the real `kubectl apply -f -`
// on the test control plane → the objects exist with every field (nothing pruned by the CRD schemas), and a
// Service that names the imported pool with MetalLB's own annotation gets an address from it through the
// controller.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testCluster } from '../harness/test-cluster.ts';
import {
  applyObject,
  clients,
  installCrds,
  kubectl,
  type ProcessRun,
  runProcess,
  SluiceProcess,
  waitForAddress,
} from './support.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const CLASS = 'sluice.dev/e2e-import';
const NS = 'e2e-import';
const PUBLIC_POOL = 'e2e-import-public';
const RESERVED_POOL = 'e2e-import-reserved';
const ADVERTISEMENT = 'e2e-import-l2';
const cluster = testCluster();

// What a MetalLB user has: the pools and advertisement of their cluster, next to objects that are not
// configuration (the namespace) and BGP objects Sluice cannot take yet.
const METALLB_CONFIG = `apiVersion: v1
kind: Namespace
metadata:
  name: metallb-system
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: ${PUBLIC_POOL}
  namespace: metallb-system
  labels:
    exposure: public
  uid: 0b7e52a4-0c1e-4f0a-9d3c-3c1f0f6d1e11
  resourceVersion: "1234"
  creationTimestamp: "2025-06-01T00:00:00Z"
spec:
  addresses:
  - 192.0.2.160/29
  - 192.0.2.170 - 192.0.2.171
  autoAssign: no
  avoidBuggyIPs: true
status:
  assignedIPv4: 1
  availableIPv4: 9
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: ${RESERVED_POOL}
  namespace: metallb-system
spec:
  addresses:
  - 192.0.2.176/29
  serviceAllocation:
    priority: 10
    namespaces: [${NS}]
    serviceSelectors:
    - matchExpressions:
      - {key: tier, operator: In, values: [frontend]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: ${ADVERTISEMENT}
  namespace: metallb-system
spec:
  ipAddressPoolSelectors:
  - matchLabels:
      exposure: public
  ipAddressPools: [${RESERVED_POOL}]
  nodeSelectors:
  - matchLabels:
      node-role.kubernetes.io/edge: ""
  interfaces: [eth0]
  serviceSelectors:
  - matchLabels: {app: web}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata:
  name: upstream
  namespace: metallb-system
spec:
  myASN: 64500
  peerASN: 64501
  peerAddress: 192.0.2.1
`;

/** Runs `sluice import ...` as a separate process, as a user would. */
function sluiceImport(args: string[], stdin = ''): Promise<ProcessRun> {
  return runProcess(process.execPath, [MAIN, 'import', ...args], stdin, { cwd: ROOT });
}

async function getJson(kind: string, name: string, namespace?: string): Promise<Record<string, unknown>> {
  return JSON.parse(
    await kubectl(cluster, ['get', kind, name, ...(namespace ? ['-n', namespace] : []), '-o', 'json']),
  ) as Record<string, unknown>;
}

let dir = '';
let configFile = '';
let sluice: SluiceProcess | undefined;

before(async () => {
  await installCrds(cluster);
  await kubectl(cluster, [
    'wait',
    '--for=condition=Established',
    'crd/l2advertisements.sluice.dev',
    '--timeout=30s',
  ]);
  await kubectl(cluster, ['create', 'namespace', NS]);
  dir = await mkdtemp(join(tmpdir(), 'sluice-import-'));
  configFile = join(dir, 'metallb.yaml');
  await writeFile(configFile, METALLB_CONFIG);
});

after(async () => {
  await sluice?.stop();
  await kubectl(cluster, ['delete', 'namespace', NS, '--wait=false']).catch(() => '');
  await kubectl(cluster, ['delete', 'addresspools', PUBLIC_POOL, RESERVED_POOL, '--ignore-not-found']).catch(
    () => '',
  );
  await kubectl(cluster, ['delete', 'l2advertisements', ADVERTISEMENT, '--ignore-not-found']).catch(() => '');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('sluice import metallb', () => {
  test('the converted file applies with kubectl, and the objects hold every converted field', async () => {
    const imported = await sluiceImport(['metallb', configFile]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(
      imported.stderr,
      new RegExp(
        `warning: L2Advertisement metallb-system/${ADVERTISEMENT}: spec\\.serviceSelectors has no Sluice`,
      ),
    );
    assert.match(
      imported.stderr,
      /warning: BGPPeer metallb-system\/upstream: skipped: BGP is not supported yet/,
    );
    assert.match(imported.stderr, /converted 2 AddressPools and 1 L2Advertisement/);

    // Standard input gives the same objects.
    const fromStdin = await sluiceImport(['metallb', '-'], METALLB_CONFIG);
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    const body = (out: string): string => out.slice(out.indexOf('\n') + 1);
    assert.equal(body(fromStdin.stdout), body(imported.stdout));

    const applied = await kubectl(cluster, ['apply', '-f', '-'], imported.stdout);
    assert.match(applied, new RegExp(`addresspool.sluice.dev/${PUBLIC_POOL} created`));
    assert.match(applied, new RegExp(`addresspool.sluice.dev/${RESERVED_POOL} created`));
    assert.match(applied, new RegExp(`l2advertisement.sluice.dev/${ADVERTISEMENT} created`));

    const pub = await getJson('addresspool', PUBLIC_POOL);
    const pubMeta = pub.metadata as Record<string, unknown>;
    assert.equal(pubMeta.namespace, undefined, 'AddressPools are cluster-scoped');
    assert.deepEqual(pubMeta.labels, { exposure: 'public' });
    assert.notEqual(pubMeta.uid, '0b7e52a4-0c1e-4f0a-9d3c-3c1f0f6d1e11');
    assert.match(
      String((pubMeta.annotations as Record<string, string>)['sluice.dev/imported-from']),
      new RegExp(`IPAddressPool metallb-system/${PUBLIC_POOL}$`),
    );
    const pubSpec = pub.spec as Record<string, unknown>;
    assert.deepEqual(pubSpec.addresses, ['192.0.2.160/29', '192.0.2.170-192.0.2.171']);
    assert.equal(pubSpec.autoAssign, false);
    assert.equal(pubSpec.avoidBuggyIPs, true);

    const reserved = await getJson('addresspool', RESERVED_POOL);
    assert.deepEqual((reserved.spec as Record<string, unknown>).serviceAllocation, {
      priority: 10,
      namespaces: [NS],
      serviceSelectors: [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }] }],
    });

    const advertisement = await getJson('l2advertisement', ADVERTISEMENT);
    assert.deepEqual(advertisement.spec, {
      addressPools: [RESERVED_POOL],
      addressPoolSelectors: [{ matchLabels: { exposure: 'public' } }],
      nodeSelectors: [{ matchLabels: { 'node-role.kubernetes.io/edge': '' } }],
      interfaces: ['eth0'],
    });

    // Applying the same output again changes nothing.
    const again = await kubectl(cluster, ['apply', '-f', '-'], imported.stdout);
    for (const line of again.trim().split('\n')) assert.match(line, / unchanged$/);
  });

  test('a Service that names the imported pool with metallb.io/address-pool gets an address from it', async () => {
    sluice = new SluiceProcess(cluster.kubeconfigPath, [
      `--load-balancer-class=${CLASS}`,
      '--leader-elect=false',
      '--backoff-base=0.2',
      '--backoff-max=2',
    ]);
    await applyObject(cluster, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'migrated',
        namespace: NS,
        annotations: { 'metallb.io/address-pool': PUBLIC_POOL },
      },
      spec: {
        type: 'LoadBalancer',
        loadBalancerClass: CLASS,
        selector: { app: 'migrated' },
        ports: [{ port: 80, targetPort: 8080 }],
      },
    });
    const ip = await waitForAddress(clients(cluster.kubeconfigPath).core, NS, 'migrated');
    // The pool has autoAssign false, so only the annotation can have chosen it.
    const last = Number(ip.split('.')[3]);
    const inPool =
      ip.startsWith('192.0.2.') && ((last >= 160 && last <= 167) || last === 170 || last === 171);
    assert.ok(inPool, `address ${ip} is not from ${PUBLIC_POOL}`);
  });

  test('a conflicting file is refused as a whole (exit 1, nothing on stdout); broken YAML is exit 2', async () => {
    const clash = METALLB_CONFIG.replace(
      `name: ${RESERVED_POOL}\n  namespace: metallb-system`,
      `name: ${PUBLIC_POOL}\n  namespace: metallb-other`,
    );
    const refused = await sluiceImport(['metallb', '-'], clash);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.match(
      refused.stderr,
      new RegExp(
        `error: IPAddressPool metallb-other/${PUBLIC_POOL}: would become AddressPool "${PUBLIC_POOL}"`,
      ),
    );
    const broken = await sluiceImport(['metallb', '-'], 'kind: [\n');
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /is not YAML manifests/);
  });
});
