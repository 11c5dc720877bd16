// The Azure provider end to end: the real apiserver, the real kubectl, Sluice as a process with
// --provider=azure, and the ARM simulator behind the real @azure/arm-network client. Sluice signs in
// exactly as in a cluster with Azure Workload Identity: DefaultAzureCredential with a projected token
// file and three variables, against the simulator's Entra ID stand-in, over HTTPS with the simulator's
// CA given by --azure-ca-file.
//
// The docs' internal Service gets an internal frontend and its private IP; a Service without
// annotations a public IP Sluice creates; ETP Local an HTTP probe on healthCheckNodePort; source
// ranges reach the NSG; loadBalancerIP naming a missing public IP is a clear Event until the IP
// exists, and that IP is never deleted; the backend pool follows nodes; 50 Services at once share
// one load balancer; a bad value is an Event and a condition; a restart writes nothing; deleting
// every Service leaves nothing Sluice created.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { testCluster } from '../harness/test-cluster.ts';
import type { JsonObject } from '../sim/azure/json.ts';
import type { AzureSimulator } from '../sim/azure/simulator.ts';
import { NODES, RG, startTestSimulator } from '../sim/azure/testing.ts';
import {
  clients,
  eventsFor,
  kubectl,
  readService,
  SluiceProcess,
  waitFor,
  waitForIngressIp,
} from './support.ts';

const CLASS = 'sluice.dev/e2e-azure';
const CLUSTER = 'e2e-azure';
const NS = 'e2e-azure';
const A = 'service.beta.kubernetes.io/';
const cluster = testCluster();
const api = clients(cluster.kubeconfigPath);
let sim: AzureSimulator;
let dir: string;
let sluice: SluiceProcess | undefined;

const apply = (object: object): Promise<string> =>
  kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(object));

function startSluice(): SluiceProcess {
  // What a pod with Azure Workload Identity sees (the simulator stands in for Entra ID).
  Object.assign(process.env, {
    AZURE_AUTHORITY_HOST: sim.endpoint,
    AZURE_TENANT_ID: 'e2e-tenant',
    AZURE_CLIENT_ID: 'e2e-client',
    AZURE_FEDERATED_TOKEN_FILE: join(dir, 'token'),
  });
  return new SluiceProcess(cluster.kubeconfigPath, [
    '--provider=azure',
    `--azure-endpoint=${sim.endpoint}`,
    `--azure-ca-file=${join(dir, 'ca.pem')}`,
    `--azure-subscription-id=${sim.subscriptionId}`,
    `--azure-resource-group=${RG}`,
    '--azure-location=eastus',
    '--azure-vnet=vnet',
    '--azure-subnet=nodes',
    `--cluster-name=${CLUSTER}`,
    `--load-balancer-class=${CLASS}`,
    '--leader-elect=false',
    '--workers=8',
    '--backoff-base=0.2',
    '--backoff-max=2',
  ]);
}

async function node(name: string, ip: string): Promise<void> {
  await apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { e2e: 'azure' } },
    spec: { providerID: `azure:///subscriptions/${sim.subscriptionId}/virtualMachines/${name}` },
    status: { addresses: [{ type: 'InternalIP', address: ip }] },
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
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      ...spec,
    },
  };
}

const ipOf = (name: string, timeoutMs = 60_000) =>
  waitForIngressIp(api.core, NS, name, timeoutMs, () => sluice?.tail() ?? '');

const props = (resource: JsonObject | undefined): JsonObject =>
  (resource?.properties as JsonObject | undefined) ?? {};
const list = (resource: JsonObject | undefined, key: string): JsonObject[] =>
  (props(resource)[key] as JsonObject[] | undefined) ?? [];
const lastSegment = (id: unknown): string =>
  String((id as { id?: string } | undefined)?.id ?? '').replace(/.*\//, '');

function resourceGroup(): Record<string, JsonObject[]> {
  const group = sim.snapshot().subscriptions[0]?.resourceGroups.find((g) => g.name === RG);
  return (group ?? {}) as unknown as Record<string, JsonObject[]>;
}
function loadBalancer(internal: boolean): JsonObject | undefined {
  const name = internal ? `${CLUSTER}-internal` : CLUSTER;
  return (resourceGroup().loadBalancers ?? []).find((lb) => lb.name === name);
}
const publicIps = (): JsonObject[] => resourceGroup().publicIPAddresses ?? [];
const securityRules = (): JsonObject[] =>
  list(
    (resourceGroup().networkSecurityGroups ?? []).find((g) => g.name === 'cluster-nsg'),
    'securityRules',
  );
const frontendOf = (uid: string): string => `a${uid.replace(/-/g, '')}`;

/** PUT/PATCH/DELETE calls the simulator has answered. */
function writes(): number {
  return Object.entries(sim.counters().byCall)
    .filter(([call]) => /^(PUT|PATCH|DELETE) /.test(call))
    .reduce((sum, [, n]) => sum + n, 0);
}

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(check, timeoutMs, () => `${what}\n${sluice?.tail()}`);
}

before(async () => {
  ({ sim } = await startTestSimulator({ settings: { provisioningDelayMs: 200 } }));
  dir = await mkdtemp(join(tmpdir(), 'sluice-e2e-azure-'));
  await writeFile(join(dir, 'ca.pem'), sim.caCertificate);
  await writeFile(
    join(dir, 'token'),
    'eyJhbGciOiJub25lIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZTJlOnNsdWljZSJ9.',
  );
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await node('azure-node-a', NODES[0]!);
  await node('azure-node-b', NODES[1]!);
  sluice = startSluice();
});

after(async () => {
  await kubectl(cluster, ['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']).catch(() => '');
  await kubectl(cluster, ['delete', 'node', '-l', 'e2e=azure', '--ignore-not-found']).catch(() => '');
  await sluice?.stop();
  await sim?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('azure: Standard Load Balancers, end to end', () => {
  test('the docs internal Service gets an internal frontend and its private IP', async () => {
    await apply(service('internal', { [`${A}azure-load-balancer-internal`]: 'true' }));
    const { ip, service: svc } = await ipOf('internal');
    const frontend = frontendOf(svc.metadata!.uid!);
    const lb = loadBalancer(true);
    assert.ok(lb, 'the internal load balancer');
    assert.equal((lb.sku as JsonObject).name, 'Standard');
    const config = list(lb, 'frontendIPConfigurations').find((f) => f.name === frontend);
    assert.ok(config, 'the Service has its frontend');
    assert.equal(props(config).privateIPAddress, ip);
    assert.equal(lastSegment(props(config).subnet), 'nodes', 'in the configured subnet');
    const rule = list(lb, 'loadBalancingRules').find((r) => r.name === `${frontend}-TCP-80`);
    assert.ok(rule, 'a rule for port 80');
    assert.equal(props(rule).frontendPort, 80);
    const pool = list(lb, 'backendAddressPools')[0];
    const addresses = ((props(pool).loadBalancerBackendAddresses as JsonObject[]) ?? []).map(
      (a) => props(a).ipAddress,
    );
    assert.deepEqual(addresses.sort(), [NODES[0], NODES[1]], 'the backend pool holds the nodes by IP');
    assert.equal(loadBalancer(false), undefined, 'no public load balancer for an internal Service');
  });

  test('public by default, with a public IP Sluice creates; ETP Local probes healthCheckNodePort', async () => {
    await apply(
      service('web', {}, { externalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['203.0.113.0/24'] }),
    );
    const { ip, service: svc } = await ipOf('web');
    const frontend = frontendOf(svc.metadata!.uid!);
    const pip = publicIps().find((p) => props(p).ipAddress === ip);
    assert.ok(pip, 'a public IP holds the address');
    assert.equal(pip.name, `${CLUSTER}-${frontend}`);
    assert.equal((pip.sku as JsonObject).name, 'Standard');
    assert.equal(props(pip).publicIPAllocationMethod, 'Static');
    const lb = loadBalancer(false);
    const probe = list(lb, 'probes').find((p) => String(p.name).startsWith(`${frontend}-`));
    assert.equal(props(probe).protocol, 'Http');
    assert.equal(props(probe).port, svc.spec!.healthCheckNodePort);
    assert.equal(props(probe).requestPath, '/healthz');
    // Source ranges: an NSG allow rule from the range to the Service's address and port.
    const allow = securityRules().filter((r) => String(r.name).startsWith(`${frontend}-allow-`));
    assert.equal(allow.length, 1, JSON.stringify(securityRules().map((r) => r.name)));
    assert.deepEqual(props(allow[0]).sourceAddressPrefixes ?? [props(allow[0]).sourceAddressPrefix], [
      '203.0.113.0/24',
    ]);
    assert.equal(props(allow[0]).access, 'Allow');
  });

  test('loadBalancerIP naming a missing public IP: a clear Event until it exists, and it is never deleted', async () => {
    await apply(service('byo', {}, { loadBalancerIP: '198.19.50.50' }));
    let svc: V1Service | undefined;
    await waitFor(
      async () => {
        svc = await readService(api.core, NS, 'byo');
        return (
          svc?.status?.conditions?.some(
            (c) => c.status === 'False' && /created there first/.test(c.message),
          ) ?? false
        );
      },
      30_000,
      () => `no condition about the missing public IP: ${JSON.stringify(svc?.status)}\n${sluice?.tail()}`,
    );
    const events = await eventsFor(api, NS, 'byo');
    assert.ok(
      events.some((e) => e.type === 'Warning' && /198\.19\.50\.50|created there first/.test(e.note ?? '')),
      JSON.stringify(events.map((e) => e.note)),
    );
    sim.seed.publicIPAddress({ resourceGroup: RG, name: 'team-ip', ipAddress: '198.19.50.50' });
    const { ip } = await ipOf('byo', 60_000);
    assert.equal(ip, '198.19.50.50');
  });

  test('the backend pool follows nodes', async () => {
    const poolAddresses = (): string[] =>
      (
        (props(list(loadBalancer(false), 'backendAddressPools')[0])
          .loadBalancerBackendAddresses as JsonObject[]) ?? []
      )
        .map((a) => String(props(a).ipAddress))
        .sort();
    await node('azure-node-c', NODES[2]!);
    await until(
      () => JSON.stringify(poolAddresses()) === JSON.stringify([...NODES].sort()),
      'the new node joins the pool',
    );
    await kubectl(cluster, ['delete', 'node', 'azure-node-a']);
    await until(
      () => JSON.stringify(poolAddresses()) === JSON.stringify([NODES[1], NODES[2]].sort()),
      'the deleted node leaves the pool',
    );
  });

  test('a bad annotation value is an Event and a condition, and nothing is created', async () => {
    await apply(service('typo', { [`${A}azure-load-balancer-tcp-idle-timeout`]: '500' }));
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
    assert.ok(events.some((e) => e.reason === 'InvalidAnnotation' && e.note?.includes('tcp-idle-timeout')));
    const frontend = frontendOf(svc!.metadata!.uid!);
    assert.equal(
      list(loadBalancer(false), 'frontendIPConfigurations').filter((f) => f.name === frontend).length,
      0,
    );
    assert.equal(publicIps().filter((p) => String(p.name).includes(frontend)).length, 0);
  });

  test('50 Services at once converge on one load balancer', async () => {
    const putsBefore = sim.counters().byCall['PUT loadBalancers'] ?? 0;
    const started = Date.now();
    const items = Array.from({ length: 50 }, (_, i) => service(`many-${i}`, {}));
    await apply({ apiVersion: 'v1', kind: 'List', items });
    for (let i = 0; i < 50; i++) await ipOf(`many-${i}`, 120_000);
    const seconds = (Date.now() - started) / 1000;
    const lbs = (resourceGroup().loadBalancers ?? []).map((lb) => lb.name).sort();
    assert.deepEqual(lbs, [CLUSTER, `${CLUSTER}-internal`], 'one public and one internal load balancer');
    const frontends = list(loadBalancer(false), 'frontendIPConfigurations').length;
    assert.equal(frontends, 52, 'web, byo and the 50 new ones (typo has none)');
    const puts = (sim.counters().byCall['PUT loadBalancers'] ?? 0) - putsBefore;
    console.log(
      `# figures: 50 Services addressed in ${seconds.toFixed(1)} s with ${puts} load-balancer PUTs`,
    );
  });

  test('a restart adopts everything with no writes', async () => {
    await sluice!.stop();
    const before = writes();
    sluice = startSluice();
    await waitFor(
      async () => (await sluice!.metric('sluice_reconcile_total')) >= 54,
      60_000,
      () => sluice!.tail(),
    );
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(writes() - before, 0, 'no ARM writes after a restart');
  });

  test('deleting every Service leaves nothing Sluice created; the user-owned IP stays', async () => {
    await kubectl(cluster, ['delete', 'service', '--all', '-n', NS, '--wait=true', '--timeout=120s']);
    await until(
      () =>
        (resourceGroup().loadBalancers ?? []).length === 0 &&
        publicIps().every((p) => p.name === 'team-ip') &&
        securityRules().every((r) => !/^a[0-9a-f]{32}-/.test(String(r.name))),
      'everything Sluice created is deleted',
      120_000,
    );
    assert.deepEqual(
      publicIps().map((p) => p.name),
      ['team-ip'],
      "the user's public IP is never deleted",
    );
  });
});
