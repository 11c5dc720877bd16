// The AWS provider end to end: the real apiserver, the real kubectl, Sluice as a process with
// --provider=aws, and moto (the AWS simulator) behind the real AWS SDK. A Service written from the
// Kubernetes docs' AWS examples gets its NLB, listeners, target groups, attributes and security-group
// rules; edits and removed annotations are followed; nodes come and go; a scheme change and a
// health-check protocol change replace what ELBv2 cannot change in place; a restart writes nothing;
// deleting the Service leaves nothing Sluice created.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { type AwsSnapshot, awsSnapshot, type SnapshotLoadBalancer } from '../harness/aws-inspect.ts';
import { addInstance, awsTestEnv, type SeededAccount, seedAccount } from '../harness/aws-seed.ts';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.ts';
import { type Moto, startMoto } from '../harness/moto.ts';
import { testCluster } from '../harness/test-cluster.ts';
import { clients, eventsFor, kubectl, readService, SluiceProcess, waitFor } from './support.ts';

const CLASS = 'sluice.dev/e2e-aws';
const CLUSTER = 'e2e-aws';
const NS = 'e2e-aws';
const A = 'service.beta.kubernetes.io/';
const cluster = testCluster();
const api = clients(cluster.kubeconfigPath);
let moto: Moto;
let proxy: FaultProxy;
let account: SeededAccount;
let sluice: SluiceProcess | undefined;

const apply = (object: object): Promise<string> =>
  kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(object));

function startSluice(): SluiceProcess {
  Object.assign(process.env, awsTestEnv());
  return new SluiceProcess(cluster.kubeconfigPath, [
    '--provider=aws',
    `--aws-endpoint=${proxy.url}`,
    `--cluster-name=${CLUSTER}`,
    `--load-balancer-class=${CLASS}`,
    '--leader-elect=false',
    '--backoff-base=0.2',
    '--backoff-max=2',
  ]);
}

async function node(name: string, providerID: string, labels: Record<string, string> = {}): Promise<void> {
  await apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
    spec: { providerID },
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

/** The load balancers Sluice made for one Service (by its ownership tag). */
function loadBalancersOf(snapshot: AwsSnapshot, uid: string): SnapshotLoadBalancer[] {
  return snapshot.loadBalancers.filter((lb) => lb.tags['sluice.dev/service-uid'] === uid);
}

async function hostnameOf(
  name: string,
  timeoutMs = 60_000,
): Promise<{ hostname: string; service: V1Service }> {
  let last: V1Service | undefined;
  await waitFor(
    async () => {
      last = await readService(api.core, NS, name);
      return last?.status?.loadBalancer?.ingress?.[0]?.hostname !== undefined;
    },
    timeoutMs,
    () => `no hostname on ${name}: ${JSON.stringify(last?.status)}\n${sluice?.tail()}`,
  );
  return { hostname: last!.status!.loadBalancer!.ingress![0]!.hostname!, service: last! };
}

/** Waits until moto shows what `check` wants; returns that snapshot. */
async function untilCloud(
  check: (s: AwsSnapshot) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<AwsSnapshot> {
  let snapshot: AwsSnapshot | undefined;
  await waitFor(
    async () => {
      snapshot = await awsSnapshot(moto.endpoint);
      return check(snapshot);
    },
    timeoutMs,
    () => `${what}; moto has ${JSON.stringify(snapshot, null, 1)}\n${sluice?.tail()}`,
  );
  return snapshot!;
}

function nodeRules(snapshot: AwsSnapshot): string[] {
  return snapshot.securityGroups.find((g) => g.id === account.nodeSecurityGroup)?.rules ?? [];
}

/** Reconciles finished since the process started, from its /metrics. */
async function reconcileCount(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^sluice_reconcile_total\{[^}]*\} (\d+)$/gm)) total += Number(match[1]);
  return total;
}

async function uidOf(name: string): Promise<string> {
  return (await readService(api.core, NS, name))?.metadata?.uid ?? '';
}

before(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy({ target: moto.endpoint });
  account = await seedAccount({
    endpoint: moto.endpoint,
    cluster: CLUSTER,
    nodeNames: ['aws-node-a', 'aws-node-b'],
  });
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  for (const i of account.instances) await node(i.nodeName, i.providerID);
  sluice = startSluice();
});

after(async () => {
  await kubectl(cluster, ['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']).catch(() => '');
  await kubectl(cluster, ['delete', 'node', '-l', 'e2e=aws', '--ignore-not-found']).catch(() => '');
  await kubectl(cluster, [
    'delete',
    'node',
    ...account.instances.map((i) => i.nodeName),
    '--ignore-not-found',
  ]).catch(() => '');
  sluice?.child.kill('SIGTERM');
  await sluice?.exited;
  await proxy?.stop();
  await moto?.stop();
});

describe('aws: the docs Service, end to end', () => {
  const NAME = 'web';
  let uid = '';
  let firstArn = '';

  test('TLS, PROXY protocol, access logs, health check, internal and source ranges reach moto', async () => {
    await apply(
      service(
        NAME,
        {
          [`${A}aws-load-balancer-type`]: 'nlb',
          [`${A}aws-load-balancer-internal`]: 'true',
          [`${A}aws-load-balancer-ssl-cert`]: account.certificates.join(','),
          [`${A}aws-load-balancer-ssl-ports`]: 'https',
          [`${A}aws-load-balancer-ssl-negotiation-policy`]: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
          [`${A}aws-load-balancer-proxy-protocol`]: '*',
          [`${A}aws-load-balancer-access-log-enabled`]: 'true',
          [`${A}aws-load-balancer-access-log-s3-bucket-name`]: 'my-bucket',
          [`${A}aws-load-balancer-access-log-s3-bucket-prefix`]: 'my-bucket-prefix/prod',
          [`${A}aws-load-balancer-healthcheck-interval`]: '20',
          [`${A}aws-load-balancer-healthcheck-timeout`]: '5',
          [`${A}aws-load-balancer-healthcheck-healthy-threshold`]: '2',
          [`${A}aws-load-balancer-healthcheck-unhealthy-threshold`]: '4',
        },
        { loadBalancerSourceRanges: ['203.0.113.0/24'] },
      ),
    );
    const { hostname, service: svc } = await hostnameOf(NAME);
    uid = svc.metadata!.uid!;
    const snapshot = await awsSnapshot(moto.endpoint);
    const [lb, ...more] = loadBalancersOf(snapshot, uid);
    assert.ok(lb, 'a load balancer');
    assert.equal(more.length, 0, 'exactly one load balancer');
    firstArn = lb.arn;
    assert.equal(hostname, lb.dnsName.toLowerCase());
    assert.equal(lb.scheme, 'internal');
    assert.deepEqual(lb.subnets, [...account.privateSubnets].sort());
    assert.equal(lb.tags['sluice.dev/cluster'], CLUSTER);
    assert.equal(lb.tags[`kubernetes.io/cluster/${CLUSTER}`], 'owned');
    assert.equal(lb.attributes['access_logs.s3.enabled'], 'true');
    assert.equal(lb.attributes['access_logs.s3.bucket'], 'my-bucket');
    assert.equal(lb.attributes['access_logs.s3.prefix'], 'my-bucket-prefix/prod');

    const [http, https] = lb.listeners;
    assert.equal(lb.listeners.length, 2);
    assert.equal(http?.port, 80);
    assert.equal(http?.protocol, 'TCP');
    assert.equal(https?.port, 443);
    assert.equal(https?.protocol, 'TLS');
    assert.equal(https?.defaultCertificate, account.certificates[0]);
    assert.ok(https?.certificates.includes(account.certificates[1]!), 'the second certificate is added');
    assert.equal(https?.sslPolicy, 'ELBSecurityPolicy-TLS13-1-2-2021-06');

    const ports = new Map(svc.spec!.ports!.map((p) => [p.name, p.nodePort!]));
    for (const listener of lb.listeners) {
      const tg = snapshot.targetGroups.find((t) => t.name === listener.targetGroup);
      assert.ok(tg, `target group of port ${listener.port}`);
      assert.equal(tg.targetType, 'instance');
      assert.equal(tg.port, ports.get(listener.port === 80 ? 'http' : 'https'));
      assert.equal(tg.attributes['proxy_protocol_v2.enabled'], 'true');
      assert.deepEqual(tg.healthCheck, {
        ...tg.healthCheck,
        protocol: 'TCP',
        port: 'traffic-port',
        interval: 20,
        timeout: 5,
        healthy: 2,
        unhealthy: 4,
      });
      assert.deepEqual(
        tg.targets,
        account.instances.map((i) => `${i.instanceId}:${tg.port}`).sort(),
        'every node is a target',
      );
    }

    // The managed frontend group on the NLB: listener ports and path MTU discovery from the source range.
    const frontend = snapshot.securityGroups.find((g) => lb.securityGroups.includes(g.id));
    assert.ok(frontend, 'the NLB has its own security group');
    assert.equal(frontend.tags['sluice.dev/service-uid'], uid);
    const frontendRules = frontend.rules.map((r) => r.replace(/ ".*"$/, ''));
    for (const want of [
      'tcp 80-80 203.0.113.0/24',
      'tcp 443-443 203.0.113.0/24',
      'icmp 3-4 203.0.113.0/24',
    ]) {
      assert.ok(frontendRules.includes(want), `frontend rule ${want} in ${frontendRules.join(', ')}`);
    }
    // The nodes' group: the three rules of the Kubernetes docs' NLB table, owned by their description.
    const rules = nodeRules(snapshot);
    for (const port of ports.values()) {
      assert.ok(
        rules.includes(`tcp ${port}-${port} 203.0.113.0/24 "kubernetes.io/rule/nlb/client=${lb.name}"`),
        `client rule for ${port} in ${rules.join('\n')}`,
      );
      assert.ok(
        rules.includes(`tcp ${port}-${port} ${account.vpcCidr} "kubernetes.io/rule/nlb/health=${lb.name}"`),
        `health rule for ${port} in ${rules.join('\n')}`,
      );
    }
    assert.ok(
      rules.includes(`icmp 3-4 203.0.113.0/24 "kubernetes.io/rule/nlb/mtu=${lb.name}"`),
      rules.join('\n'),
    );
    assert.ok(rules.includes('tcp 22-22 10.20.0.0/16 "ssh from the VPC"'), 'the foreign rule is untouched');

    const ready = svc.status?.conditions?.find((c) => c.type === 'LoadBalancerReady');
    assert.equal(ready?.status, 'True');
    const events = await eventsFor(api, NS, NAME);
    assert.ok(events.some((e) => e.reason === 'EnsuredLoadBalancer'));
  });

  test('removing annotations and changing the health check are followed in place', async () => {
    await apply(
      service(
        NAME,
        {
          [`${A}aws-load-balancer-type`]: 'nlb',
          [`${A}aws-load-balancer-internal`]: 'true',
          [`${A}aws-load-balancer-ssl-cert`]: account.certificates[0]!,
          [`${A}aws-load-balancer-ssl-ports`]: '443',
          [`${A}aws-load-balancer-healthcheck-interval`]: '30',
        },
        { loadBalancerSourceRanges: ['198.51.100.0/24'] },
      ),
    );
    const snapshot = await untilCloud((s) => {
      const lb = loadBalancersOf(s, uid)[0];
      const tgs = s.targetGroups.filter((t) => t.tags['sluice.dev/service-uid'] === uid);
      return (
        lb?.attributes['access_logs.s3.enabled'] === 'false' &&
        tgs.length === 2 &&
        tgs.every(
          (t) => t.attributes['proxy_protocol_v2.enabled'] === 'false' && t.healthCheck.interval === 30,
        ) &&
        lb.listeners.find((l) => l.port === 443)?.certificates.length === 1 &&
        !nodeRules(s).some((r) => r.includes('203.0.113.0/24'))
      );
    }, 'PROXY protocol off, access logs off, interval 30, one certificate, old source range revoked');
    const [lb, ...more] = loadBalancersOf(snapshot, uid);
    assert.equal(more.length, 0);
    assert.equal(lb!.arn, firstArn, 'the same load balancer');
    // Defaults are back: thresholds and timeout too.
    for (const tg of snapshot.targetGroups.filter((t) => t.tags['sluice.dev/service-uid'] === uid)) {
      assert.equal(tg.healthCheck.timeout, 10);
      assert.equal(tg.healthCheck.healthy, 3);
      assert.equal(tg.healthCheck.unhealthy, 3);
    }
    const rules = nodeRules(snapshot);
    assert.ok(
      rules.some((r) => r.includes('198.51.100.0/24') && r.includes(`client=${lb!.name}`)),
      rules.join('\n'),
    );
    const frontend = snapshot.securityGroups.find((g) => lb!.securityGroups.includes(g.id))!;
    assert.ok(!frontend.rules.some((r) => r.includes('203.0.113.0/24')), 'frontend rules follow the ranges');
  });

  test('nodes added, excluded and deleted change target registrations', async () => {
    const added = await addInstance(moto.endpoint, account, 'aws-node-c');
    await node(added.nodeName, added.providerID, { e2e: 'aws' });
    const targetsOf = (s: AwsSnapshot): string[][] =>
      s.targetGroups.filter((t) => t.tags['sluice.dev/service-uid'] === uid).map((t) => t.targets);
    await untilCloud(
      (s) => targetsOf(s).every((t) => t.some((id) => id.startsWith(`${added.instanceId}:`))),
      'the new node registered in every target group',
    );
    await kubectl(cluster, [
      'label',
      'node',
      added.nodeName,
      'node.kubernetes.io/exclude-from-external-load-balancers=true',
    ]);
    await untilCloud(
      (s) =>
        targetsOf(s).every((t) => !t.some((id) => id.startsWith(`${added.instanceId}:`)) && t.length === 2),
      'the excluded node deregistered',
    );
    await kubectl(cluster, [
      'label',
      'node',
      added.nodeName,
      'node.kubernetes.io/exclude-from-external-load-balancers-',
    ]);
    await untilCloud(
      (s) => targetsOf(s).every((t) => t.length === 3),
      'the node registered again when the label is gone',
    );
    await kubectl(cluster, ['delete', 'node', added.nodeName]);
    await untilCloud((s) => targetsOf(s).every((t) => t.length === 2), 'the deleted node deregistered');
  });

  test('a scheme change replaces the load balancer: new one first, old one deleted, Event says so', async () => {
    await apply(
      service(NAME, {
        [`${A}aws-load-balancer-type`]: 'nlb',
        [`${A}aws-load-balancer-scheme`]: 'internet-facing',
      }),
    );
    const snapshot = await untilCloud((s) => {
      const lbs = loadBalancersOf(s, uid);
      const ours = nodeRules(s).filter((r) => r.includes('kubernetes.io/rule/nlb/'));
      return (
        lbs.length === 1 &&
        lbs[0]!.scheme === 'internet-facing' &&
        lbs[0]!.state === 'active' &&
        ours.length > 0 &&
        ours.every((r) => r.includes(`=${lbs[0]!.name}"`))
      );
    }, 'one internet-facing load balancer, the node rules moved to its name');
    const lb = loadBalancersOf(snapshot, uid)[0]!;
    assert.notEqual(lb.arn, firstArn);
    assert.deepEqual(lb.subnets, [...account.publicSubnets].sort());
    await waitFor(
      async () => (await hostnameOf(NAME)).hostname === lb.dnsName.toLowerCase(),
      30_000,
      () => 'status hostname follows the new load balancer',
    );
    const events = await eventsFor(api, NS, NAME);
    assert.ok(
      events.some((e) => e.reason === 'ReplacingLoadBalancer'),
      JSON.stringify(events.map((e) => e.reason)),
    );
    // Its own target groups, the old ones gone.
    const tgs = snapshot.targetGroups.filter((t) => t.tags['sluice.dev/service-uid'] === uid);
    assert.equal(tgs.length, 2);
    assert.deepEqual(lb.listeners.map((l) => l.targetGroup).sort(), tgs.map((t) => t.name).sort());
  });

  test('externalTrafficPolicy Local: a new target group with an HTTP check on healthCheckNodePort /healthz', async () => {
    await apply(
      service(
        NAME,
        { [`${A}aws-load-balancer-type`]: 'nlb', [`${A}aws-load-balancer-scheme`]: 'internet-facing' },
        { externalTrafficPolicy: 'Local' },
      ),
    );
    const svc = await readService(api.core, NS, NAME);
    const healthPort = svc!.spec!.healthCheckNodePort!;
    assert.ok(healthPort > 0, 'the apiserver allocated a healthCheckNodePort');
    const snapshot = await untilCloud((s) => {
      const tgs = s.targetGroups.filter((t) => t.tags['sluice.dev/service-uid'] === uid);
      return (
        tgs.length === 2 &&
        tgs.every((t) => t.healthCheck.protocol === 'HTTP' && t.healthCheck.port === String(healthPort))
      );
    }, 'two target groups with the HTTP health check, the TCP ones gone');
    const tgs = snapshot.targetGroups.filter((t) => t.tags['sluice.dev/service-uid'] === uid);
    for (const tg of tgs) {
      assert.equal(tg.healthCheck.path, '/healthz');
      assert.equal(tg.targets.length, 2, 'every node stays registered; the health check filters');
    }
    const lb = loadBalancersOf(snapshot, uid)[0]!;
    assert.deepEqual(lb.listeners.map((l) => l.targetGroup).sort(), tgs.map((t) => t.name).sort());
    assert.ok(
      nodeRules(snapshot).includes(
        `tcp ${healthPort}-${healthPort} ${account.vpcCidr} "kubernetes.io/rule/nlb/health=${lb.name}"`,
      ),
      'the health rule names the healthCheckNodePort',
    );
    const events = await eventsFor(api, NS, NAME);
    assert.ok(
      events.some((e) => e.reason === 'ReplacingTargetGroup'),
      JSON.stringify(events.map((e) => e.reason)),
    );
  });
});

describe('aws: ip targets, problems, restart and clean-up', () => {
  test('nlb-target-type ip registers the ready Pod IPs of the EndpointSlices', async () => {
    await apply(
      service('pods', {
        [`${A}aws-load-balancer-type`]: 'external',
        [`${A}aws-load-balancer-nlb-target-type`]: 'ip',
      }),
    );
    const slice = (addresses: string[]) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'pods-1', namespace: NS, labels: { 'kubernetes.io/service-name': 'pods' } },
      addressType: 'IPv4',
      endpoints: addresses.map((address) => ({ addresses: [address], conditions: { ready: true } })),
      ports: [
        { name: 'http', port: 8080, protocol: 'TCP' },
        { name: 'https', port: 8443, protocol: 'TCP' },
      ],
    });
    await apply(slice(['10.20.100.10', '10.20.100.11']));
    await hostnameOf('pods');
    const uid = await uidOf('pods');
    const ofPods = (s: AwsSnapshot) => s.targetGroups.filter((t) => t.tags['sluice.dev/service-uid'] === uid);
    let snapshot = await untilCloud(
      (s) => ofPods(s).length === 2 && ofPods(s).every((t) => t.targets.length === 2),
      'two ip target groups with both Pods',
    );
    const http = ofPods(snapshot).find((t) => t.port === 8080)!;
    assert.equal(http.targetType, 'ip');
    assert.deepEqual(http.targets, ['10.20.100.10:8080', '10.20.100.11:8080']);
    await apply(slice(['10.20.100.11', '10.20.100.12']));
    snapshot = await untilCloud(
      (s) =>
        ofPods(s)
          .find((t) => t.port === 8080)
          ?.targets.join() === '10.20.100.11:8080,10.20.100.12:8080',
      'targets follow the endpoints',
    );
  });

  test('a value the NLB cannot honour is an Event and a condition, and nothing is created', async () => {
    await apply(service('bad', { [`${A}aws-load-balancer-backend-protocol`]: 'http' }));
    let last: V1Service | undefined;
    await waitFor(
      async () => {
        last = await readService(api.core, NS, 'bad');
        return (
          last?.status?.conditions?.some((c) => c.type === 'LoadBalancerReady' && c.status === 'False') ??
          false
        );
      },
      20_000,
      () => JSON.stringify(last?.status),
    );
    const condition = last!.status!.conditions!.find((c) => c.type === 'LoadBalancerReady')!;
    assert.equal(condition.reason, 'Unsupported');
    assert.match(condition.message ?? '', /aws-load-balancer-backend-protocol/);
    const events = await eventsFor(api, NS, 'bad');
    assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'Unsupported'));
    const snapshot = await awsSnapshot(moto.endpoint);
    assert.equal(loadBalancersOf(snapshot, last!.metadata!.uid!).length, 0);
  });

  test('a restart adopts everything: no cloud write, no status write', async () => {
    const before = await awsSnapshot(moto.endpoint);
    const versions = new Map<string, string>();
    for (const name of ['web', 'pods'])
      versions.set(name, (await readService(api.core, NS, name))!.metadata!.resourceVersion!);
    sluice!.child.kill('SIGTERM');
    await sluice!.exited;
    proxy.resetCounters();
    sluice = startSluice();
    // Every Service (web, pods, bad) reconciled at least once since the start.
    const port = await sluice.healthPort();
    await waitFor(
      async () => (await reconcileCount(port)) >= 3,
      30_000,
      () => sluice!.tail(),
    );
    assert.deepEqual(
      proxy.counters.mutating,
      0,
      `mutating calls after restart: ${JSON.stringify(proxy.counters)}`,
    );
    const after = await awsSnapshot(moto.endpoint);
    assert.deepEqual(
      after.loadBalancers.map((l) => l.arn).sort(),
      before.loadBalancers.map((l) => l.arn).sort(),
    );
    assert.deepEqual(
      after.targetGroups.map((t) => t.arn).sort(),
      before.targetGroups.map((t) => t.arn).sort(),
    );
    for (const [name, version] of versions) {
      assert.equal(
        (await readService(api.core, NS, name))!.metadata!.resourceVersion,
        version,
        `${name} not rewritten`,
      );
    }
  });

  test('deleting the Services leaves nothing Sluice created', async () => {
    const uids = await Promise.all(['web', 'pods', 'bad'].map(uidOf));
    await kubectl(cluster, [
      'delete',
      'service',
      '-n',
      NS,
      'web',
      'pods',
      'bad',
      '--wait=true',
      '--timeout=90s',
    ]);
    const snapshot = await untilCloud(
      (s) =>
        s.loadBalancers.length === 0 &&
        s.targetGroups.length === 0 &&
        !s.securityGroups.some((g) => g.tags['sluice.dev/cluster'] === CLUSTER) &&
        !nodeRules(s).some((r) => r.includes('kubernetes.io/rule/nlb/')),
      'no load balancer, target group, owned security group or node rule left',
      90_000,
    );
    assert.deepEqual(nodeRules(snapshot), ['tcp 22-22 10.20.0.0/16 "ssh from the VPC"']);
    for (const uid of uids) assert.ok(uid, 'had a uid');
  });
});
