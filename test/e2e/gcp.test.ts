// The GCP provider end to end: the real apiserver, the real kubectl, Sluice as a process with
// --provider=gcp, and the Compute Engine simulator behind the real @google-cloud/compute clients.
// The Kubernetes docs' internal Service gets an internal passthrough load balancer and its IP;
// a Service without annotations gets an external one with a reserved address; ETP Local gets its
// own health check on healthCheckNodePort (and switching back leaves no check behind); source
// ranges reach the firewall; instance-group membership follows nodes; a bad value is an Event and
// a condition; a restart writes nothing; deleting the Services leaves nothing Sluice created.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { testCluster } from '../harness/test-cluster.ts';
import { type GcpSimulator, startGcpSimulator } from '../sim/gcp/server.ts';
import type { ProjectSnapshot } from '../sim/gcp/simulator.ts';
import {
  clients,
  eventsFor,
  kubectl,
  readService,
  SluiceProcess,
  waitFor,
  waitForIngressIp,
} from './support.ts';

const CLASS = 'sluice.dev/e2e-gcp';
const CLUSTER = 'e2e-gcp';
const NS = 'e2e-gcp';
const PROJECT = 'sluice-e2e';
const REGION = 'us-central1';
const cluster = testCluster();
const api = clients(cluster.kubeconfigPath);
let sim: GcpSimulator;
let sluice: SluiceProcess | undefined;

const apply = (object: object): Promise<string> =>
  kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(object));

type Resource = Record<string, unknown>;

function snapshot(): ProjectSnapshot {
  return sim.snapshot(PROJECT).projects[PROJECT]!;
}

/** Resources whose description says they belong to this Service (Sluice's ownership JSON). */
function ownedBy(resources: ReadonlyArray<unknown>, uid: string): Resource[] {
  return (resources as Resource[]).filter((r) => String(r.description ?? '').includes(`"${uid}"`));
}

const last = (url: unknown): string => String(url ?? '').replace(/.*\//, '');

function startSluice(): SluiceProcess {
  return new SluiceProcess(cluster.kubeconfigPath, [
    '--provider=gcp',
    `--gcp-endpoint=${sim.url}`,
    `--gcp-project=${PROJECT}`,
    `--gcp-region=${REGION}`,
    '--gcp-subnetwork=default',
    '--gcp-node-tags=e2e-node',
    `--cluster-name=${CLUSTER}`,
    `--load-balancer-class=${CLASS}`,
    '--leader-elect=false',
    '--backoff-base=0.2',
    '--backoff-max=2',
  ]);
}

async function node(name: string, zone: string): Promise<void> {
  await apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { e2e: 'gcp' } },
    spec: { providerID: `gce://${PROJECT}/${zone}/${name}` },
  });
}

function service(
  name: string,
  annotations: Record<string, string>,
  spec: Record<string, unknown> = {},
): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS, annotations },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: CLASS,
      selector: { app: name },
      ports: [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
      ],
      ...spec,
    },
  };
}

const ipOf = (name: string, timeoutMs = 60_000) =>
  waitForIngressIp(api.core, NS, name, timeoutMs, () => sluice?.tail() ?? '');

async function untilCloud(check: (s: ProjectSnapshot) => boolean, what: string, timeoutMs = 60_000) {
  let seen: ProjectSnapshot | undefined;
  await waitFor(
    () => {
      seen = snapshot();
      return check(seen);
    },
    timeoutMs,
    () => `${what}; the simulator has ${JSON.stringify(seen?.created)}\n${sluice?.tail()}`,
  );
  return seen!;
}

/** Instance names in the cluster's instance groups, by zone. */
function members(s: ProjectSnapshot): string[] {
  return Object.values(s.instanceGroupMembers)
    .flat()
    .map((url) => last(url))
    .sort();
}

/** Mutating calls the simulator has answered (inserts, deletes, patches, membership changes). */
function writes(): number {
  let total = 0;
  for (const [method, count] of Object.entries(sim.counters())) {
    if (/\.(insert|delete|patch|update|addInstances|removeInstances|setLabels)$/.test(method)) total += count;
  }
  return total;
}

async function uidOf(name: string): Promise<string> {
  return (await readService(api.core, NS, name))?.metadata?.uid ?? '';
}

before(async () => {
  sim = await startGcpSimulator({ operations: { pendingMs: 50, runningMs: 200 } });
  sim.seed.instances(PROJECT, [
    { zone: `${REGION}-a`, name: 'gcp-node-a', tags: ['e2e-node'] },
    { zone: `${REGION}-b`, name: 'gcp-node-b', tags: ['e2e-node'] },
    { zone: `${REGION}-b`, name: 'gcp-node-c', tags: ['e2e-node'] },
  ]);
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await node('gcp-node-a', `${REGION}-a`);
  await node('gcp-node-b', `${REGION}-b`);
  sluice = startSluice();
});

after(async () => {
  await kubectl(cluster, ['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']).catch(() => '');
  await kubectl(cluster, ['delete', 'node', '-l', 'e2e=gcp', '--ignore-not-found']).catch(() => '');
  await sluice?.stop();
  await sim?.stop();
});

describe('gcp: passthrough load balancers, end to end', () => {
  test('the docs internal Service gets an internal load balancer and its IP', async () => {
    await apply(
      service('internal', { 'cloud.google.com/load-balancer-type': 'Internal' }, { ports: [{ port: 5432 }] }),
    );
    const { ip } = await ipOf('internal');
    const uid = await uidOf('internal');
    const s = snapshot();
    const [rule, ...more] = ownedBy(s.forwardingRules, uid);
    assert.ok(rule, 'a forwarding rule');
    assert.equal(more.length, 0, 'one forwarding rule (TCP only)');
    assert.equal(rule.loadBalancingScheme, 'INTERNAL');
    assert.equal(rule.IPAddress, ip);
    assert.deepEqual(rule.ports, ['5432']);
    assert.equal(last(rule.subnetwork), 'default');
    const [address] = ownedBy(s.addresses, uid);
    assert.equal(address?.addressType, 'INTERNAL');
    assert.equal(address?.address, ip, 'the IP is a reserved internal address');
    const [backend] = ownedBy(s.backendServices, uid);
    assert.equal(backend?.loadBalancingScheme, 'INTERNAL');
    assert.equal(last(rule.backendService), backend?.name);
    const groups = ((backend?.backends ?? []) as Resource[]).map((b) => last(b.group));
    assert.equal(groups.length, 2, 'one instance group per zone with nodes');
    assert.deepEqual(members(s), ['gcp-node-a', 'gcp-node-b']);
    // ETP Cluster: the cluster's shared check on kube-proxy's port.
    const check = (s.healthChecks as Resource[]).find(
      (h) => h.selfLink === ((backend?.healthChecks ?? []) as string[])[0],
    );
    assert.deepEqual(
      {
        port: (check?.httpHealthCheck as Resource)?.port,
        path: (check?.httpHealthCheck as Resource)?.requestPath,
      },
      { port: 10256, path: '/healthz' },
    );
  });

  test('external by default, with a reserved address, and source ranges in the firewall', async () => {
    await apply(service('web', {}, { loadBalancerSourceRanges: ['203.0.113.0/24'] }));
    const { ip } = await ipOf('web');
    const uid = await uidOf('web');
    const s = snapshot();
    const [rule] = ownedBy(s.forwardingRules, uid);
    assert.equal(rule?.loadBalancingScheme, 'EXTERNAL');
    assert.equal(rule?.IPAddress, ip);
    assert.deepEqual(rule?.ports, ['80', '443']);
    const [address] = ownedBy(s.addresses, uid);
    assert.equal(address?.addressType, 'EXTERNAL');
    assert.equal(address?.address, ip, 'a reserved static address, so the IP survives rule changes');
    const client = ownedBy(s.firewalls, uid).find((f) =>
      (f.destinationRanges as string[] | undefined)?.includes(ip),
    );
    assert.ok(client, 'a client firewall to the load balancer IP');
    assert.deepEqual(client.sourceRanges, ['203.0.113.0/24']);
    assert.deepEqual(client.targetTags, ['e2e-node']);
    assert.deepEqual(client.allowed, [{ IPProtocol: 'tcp', ports: ['80', '443'] }]);

    await apply(service('web', {}, { loadBalancerSourceRanges: ['198.51.100.0/24', '192.0.2.0/24'] }));
    await untilCloud(
      (now) =>
        ownedBy(now.firewalls, uid).some(
          (f) =>
            JSON.stringify([...(f.sourceRanges as string[])].sort()) === '["192.0.2.0/24","198.51.100.0/24"]',
        ),
      'the firewall follows new source ranges',
    );
    assert.equal((await ipOf('web')).ip, ip, 'the IP stays');
  });

  test('externalTrafficPolicy Local: a health check on healthCheckNodePort; back to Cluster leaves none behind', async () => {
    await apply(service('local', {}, { externalTrafficPolicy: 'Local' }));
    const { service: svc } = await ipOf('local');
    const uid = svc.metadata!.uid!;
    const port = svc.spec!.healthCheckNodePort!;
    const s = snapshot();
    const [own] = ownedBy(s.healthChecks, uid);
    assert.ok(own, 'a health check of its own');
    assert.equal((own.httpHealthCheck as Resource).port, port);
    assert.equal((own.httpHealthCheck as Resource).requestPath, '/healthz');
    const [backend] = ownedBy(s.backendServices, uid);
    assert.equal(((backend?.healthChecks ?? []) as string[])[0], own.selfLink);
    assert.ok(
      ownedBy(s.firewalls, uid).some((f) => JSON.stringify(f.allowed).includes(`"${port}"`)),
      'probes admitted to the health-check port',
    );

    await apply(service('local', {}, { externalTrafficPolicy: 'Cluster' }));
    await untilCloud(
      (now) => ownedBy(now.healthChecks, uid).length === 0,
      'the per-Service health check is deleted after the switch',
    );
    const [after] = ownedBy(snapshot().backendServices, uid);
    assert.match(
      String(((after?.healthChecks ?? []) as string[])[0]),
      /-node-hc$/,
      'the shared kube-proxy check',
    );
  });

  test('instance-group membership follows nodes', async () => {
    await node('gcp-node-c', `${REGION}-b`);
    await untilCloud(
      (s) => JSON.stringify(members(s)) === '["gcp-node-a","gcp-node-b","gcp-node-c"]',
      'the new node joins its zone group',
      30_000,
    );
    await kubectl(cluster, ['delete', 'node', 'gcp-node-a']);
    await untilCloud(
      (s) => JSON.stringify(members(s)) === '["gcp-node-b","gcp-node-c"]',
      'the deleted node leaves its group',
      30_000,
    );
  });

  test('a bad annotation value is an Event and a condition, and nothing is created', async () => {
    await apply(service('typo', { 'cloud.google.com/network-tier': 'Gold' }));
    let svc: V1Service | undefined;
    await waitFor(
      async () => {
        svc = await readService(api.core, NS, 'typo');
        return svc?.status?.conditions?.some((c) => c.reason === 'InvalidAnnotation') ?? false;
      },
      30_000,
      () => `no InvalidAnnotation condition: ${JSON.stringify(svc?.status)}\n${sluice?.tail()}`,
    );
    const events = await eventsFor(api, NS, 'typo');
    assert.ok(
      events.some(
        (e) => e.reason === 'InvalidAnnotation' && e.note?.includes('cloud.google.com/network-tier'),
      ),
      JSON.stringify(events),
    );
    const s = snapshot();
    for (const kind of ['addresses', 'forwardingRules', 'backendServices', 'firewalls'] as const) {
      assert.equal(ownedBy(s[kind], svc!.metadata!.uid!).length, 0, `no ${kind}`);
    }
  });

  test('a restart adopts everything with no writes', async () => {
    await sluice!.stop();
    const before = writes();
    sluice = startSluice();
    // Every Service looked at again (the reconcile count covers them all), then nothing written.
    await waitFor(
      async () => (await sluice!.metric('sluice_reconcile_total')) >= 4,
      30_000,
      () => sluice!.tail(),
    );
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(writes() - before, 0, 'no Compute writes after a restart');
  });

  test('deleting the Services leaves nothing Sluice created', async () => {
    await kubectl(cluster, ['delete', 'service', '--all', '-n', NS, '--wait=true', '--timeout=90s']);
    const s = await untilCloud(
      (now) => now.created.length === 0,
      'everything Sluice created is deleted',
      90_000,
    );
    assert.deepEqual(s.created, []);
  });
});
