// MetalLB-parity pool features end to end, on the real apiserver with Sluice as a separate process and the real
// kubectl: MetalLB's annotations unchanged (including sharing), dual-stack policies, avoidBuggyIPs, pools reserved
// by namespace/Service selectors with priorities, draining, pool status and conflicts, shrinking (kept unless the
// pool asks), and a restart that moves nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { testCluster } from '../harness/test-cluster.ts';
import {
  clients,
  eventsFor,
  installCrds,
  kubectl,
  readService,
  SluiceProcess,
  waitFor,
  waitForAddress,
} from './support.ts';

const CLASS = 'sluice.dev/e2e-pool-features';
const PREFIX = 'e2e-pf';
const cluster = testCluster();
const api = clients(cluster.kubeconfigPath);
let sluice: SluiceProcess;
const namespaces = new Set<string>();
const pools = new Set<string>();

interface ServiceOptions {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  ports?: Array<{ port: number; protocol?: 'TCP' | 'UDP' }>;
  spec?: Record<string, unknown>;
}

function serviceManifest(namespace: string, name: string, options: ServiceOptions = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, annotations: options.annotations ?? {}, labels: options.labels ?? {} },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: CLASS,
      selector: { app: name },
      ports: (options.ports ?? [{ port: 80 }]).map((p) => ({
        name: `${(p.protocol ?? 'TCP').toLowerCase()}-${p.port}`,
        port: p.port,
        protocol: p.protocol ?? 'TCP',
      })),
      ...options.spec,
    },
  };
}

const apply = (object: object): Promise<string> =>
  kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(object));

async function createNamespace(name: string, labels: Record<string, string> = {}): Promise<string> {
  const full = `${PREFIX}-${name}`;
  namespaces.add(full);
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: full, labels } });
  return full;
}

async function pool(name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}) {
  const full = `${PREFIX}-${name}`;
  pools.add(full);
  await apply({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'AddressPool',
    metadata: { name: full, labels },
    spec,
  });
  return full;
}

async function deletePools(...names: string[]): Promise<void> {
  await kubectl(cluster, ['delete', 'addresspools', ...names, '--ignore-not-found']);
  for (const n of names) pools.delete(n);
}

async function service(namespace: string, name: string, options: ServiceOptions = {}): Promise<void> {
  await apply(serviceManifest(namespace, name, options));
}

async function ingressOf(namespace: string, name: string): Promise<string[]> {
  const svc = await readService(api.core, namespace, name);
  return (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
}

async function condition(namespace: string, name: string) {
  const svc = await readService(api.core, namespace, name);
  return svc?.status?.conditions?.find((c) => c.type === 'LoadBalancerReady');
}

/** Waits until the ready condition has this reason (and status), and returns it. */
async function waitForReason(namespace: string, name: string, reason: string, status?: 'True' | 'False') {
  let last: Awaited<ReturnType<typeof condition>>;
  await waitFor(
    async () => {
      last = await condition(namespace, name);
      return last?.reason === reason && (status === undefined || last.status === status);
    },
    20_000,
    () => `${namespace}/${name}: condition ${JSON.stringify(last)}; want reason ${reason}`,
  );
  return last!;
}

async function waitForIngress(namespace: string, name: string, want: string[]): Promise<void> {
  let last: string[] = [];
  await waitFor(
    async () => {
      last = await ingressOf(namespace, name);
      return JSON.stringify(last) === JSON.stringify(want);
    },
    20_000,
    () => `${namespace}/${name}: ingress ${JSON.stringify(last)}, want ${JSON.stringify(want)}`,
  );
}

async function waitForEvent(namespace: string, name: string, reason: string, mentions = ''): Promise<string> {
  let found: string | undefined;
  let seen: Array<[string | undefined, string | undefined]> = [];
  await waitFor(
    async () => {
      const events = await eventsFor(api, namespace, name);
      seen = events.map((e) => [e.reason, e.note]);
      found = events.find((e) => e.reason === reason && (e.note ?? '').includes(mentions))?.note;
      return found !== undefined;
    },
    20_000,
    () =>
      `${namespace}/${name}: no ${reason} event mentioning "${mentions}"; events: ${JSON.stringify(seen)}`,
  );
  return found!;
}

async function poolStatus(name: string): Promise<Record<string, unknown>> {
  const out = await kubectl(cluster, ['get', 'addresspool', name, '-o', 'json']);
  return (JSON.parse(out) as { status?: Record<string, unknown> }).status ?? {};
}

function startSluice(): SluiceProcess {
  return new SluiceProcess(cluster.kubeconfigPath, [
    `--load-balancer-class=${CLASS}`,
    '--leader-elect=false',
    '--backoff-base=0.2',
    '--backoff-max=2',
  ]);
}

before(async () => {
  await installCrds(cluster);
  sluice = startSluice();
  await sluice.waitForLog((l) => l.msg === 'reconciling');
});

after(async () => {
  await sluice?.stop();
  for (const ns of namespaces)
    await kubectl(cluster, ['delete', 'namespace', ns, '--wait=false']).catch(() => '');
  if (pools.size > 0) await deletePools(...pools).catch(() => undefined);
});

describe('MetalLB manifests work unchanged', () => {
  test('metallb.io/address-pool, loadBalancerIPs and allow-shared-ip: TCP and UDP on port 53 share one address', async () => {
    const ns = await createNamespace('metallb');
    const p = await pool('metallb', { addresses: ['198.51.100.0/28'], autoAssign: false });
    await service(ns, 'dns-tcp', {
      annotations: { 'metallb.io/address-pool': p, 'metallb.io/allow-shared-ip': 'dns' },
      ports: [{ port: 53, protocol: 'TCP' }],
    });
    const ip = await waitForAddress(api.core, ns, 'dns-tcp');
    assert.equal(ip, '198.51.100.0');
    await service(ns, 'dns-udp', {
      annotations: { 'metallb.io/address-pool': p, 'metallb.io/allow-shared-ip': 'dns' },
      ports: [{ port: 53, protocol: 'UDP' }],
    });
    assert.equal(await waitForAddress(api.core, ns, 'dns-udp'), ip);

    // Same key but the same protocol and port: it may not share, so it gets its own address.
    await service(ns, 'dns-tcp-2', {
      annotations: { 'metallb.io/address-pool': p, 'metallb.io/allow-shared-ip': 'dns' },
      ports: [{ port: 53, protocol: 'TCP' }],
    });
    const other = await waitForAddress(api.core, ns, 'dns-tcp-2');
    assert.notEqual(other, ip);

    // Asking for the shared address with an overlapping port: a SharingConflict that names the port.
    await service(ns, 'dns-tcp-3', {
      annotations: {
        'metallb.io/loadBalancerIPs': ip,
        'metallb.io/allow-shared-ip': 'dns',
      },
      ports: [{ port: 53, protocol: 'TCP' }],
    });
    const failed = await waitForReason(ns, 'dns-tcp-3', 'SharingConflict', 'False');
    assert.match(failed.message ?? '', /TCP\/53/);
    await waitForEvent(ns, 'dns-tcp-3', 'AllocationFailed', 'TCP/53');

    // A different key may not share either, even on other ports.
    await service(ns, 'web', {
      annotations: { 'metallb.io/loadBalancerIPs': ip, 'metallb.io/allow-shared-ip': 'web' },
      ports: [{ port: 80 }],
    });
    await waitForReason(ns, 'web', 'SharingConflict', 'False');

    // The deprecated prefix still works, with a warning.
    await service(ns, 'dns-http', {
      annotations: { 'metallb.universe.tf/allow-shared-ip': 'dns', 'metallb.universe.tf/address-pool': p },
      ports: [{ port: 8053 }],
    });
    assert.equal(await waitForAddress(api.core, ns, 'dns-http'), ip);
    await waitForEvent(ns, 'dns-http', 'DeprecatedAnnotation', 'metallb.io/allow-shared-ip');

    // The address is freed only when its last user goes.
    await kubectl(cluster, ['delete', 'svc', '-n', ns, 'dns-tcp', 'dns-udp']);
    await service(ns, 'after-one-left', { annotations: { 'metallb.io/loadBalancerIPs': ip } });
    await waitForReason(ns, 'after-one-left', 'AddressInUse', 'False');
    await kubectl(cluster, ['delete', 'svc', '-n', ns, 'dns-http', 'dns-tcp-3', 'web']);
    assert.equal(await waitForAddress(api.core, ns, 'after-one-left'), ip);
  });

  test('sharing across namespaces needs both sides to opt in', async () => {
    const a = await createNamespace('share-a');
    const b = await createNamespace('share-b');
    const p = await pool('cross', {
      addresses: ['198.51.100.32/28'],
      serviceAllocation: { namespaces: [a, b] },
    });
    const annotations = { 'sluice.dev/sharing-key': 'edge' };
    await service(a, 'http', { annotations, ports: [{ port: 80 }] });
    const ip = await waitForAddress(api.core, a, 'http');
    await service(b, 'https', { annotations, ports: [{ port: 443 }] });
    const separate = await waitForAddress(api.core, b, 'https');
    assert.notEqual(separate, ip, 'no opt-in: another address');
    await kubectl(cluster, ['delete', 'svc', '-n', b, 'https']);

    await service(a, 'http', {
      annotations: { ...annotations, 'sluice.dev/sharing-cross-namespace': b },
      ports: [{ port: 80 }],
    });
    await service(b, 'https2', {
      annotations: { ...annotations, 'sluice.dev/sharing-cross-namespace': a },
      ports: [{ port: 443 }],
    });
    assert.equal(await waitForAddress(api.core, b, 'https2'), ip);
    await deletePools(p).catch(() => undefined);
  });
});

describe('dual-stack', () => {
  test('PreferDualStack gets both families in spec.ipFamilies order; a family is added when the pool gains it', async () => {
    const ns = await createNamespace('dual');
    const p = await pool('dual', {
      addresses: ['203.0.113.16/30'],
      serviceAllocation: { namespaces: [ns] },
    });
    await service(ns, 'v6-first', {
      spec: { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4'] },
    });
    await waitForIngress(ns, 'v6-first', ['203.0.113.16']);
    const notice = await waitForReason(ns, 'v6-first', 'FamilyUnavailable', 'True');
    assert.match(notice.message ?? '', /IPv6/);

    await pool('dual', {
      addresses: ['203.0.113.16/30', '2001:db8:16::/126'],
      serviceAllocation: { namespaces: [ns] },
    });
    // IPv6 added first (spec.ipFamilies order), the IPv4 address unchanged; the ::-address is skipped.
    await waitForIngress(ns, 'v6-first', ['2001:db8:16::1', '203.0.113.16']);
    await waitForReason(ns, 'v6-first', 'Ensured', 'True');

    await service(ns, 'required', { spec: { ipFamilyPolicy: 'RequireDualStack' } });
    await waitForIngress(ns, 'required', ['203.0.113.17', '2001:db8:16::2']);
    await deletePools(p);
  });

  test('RequireDualStack without an IPv6 pool fails with FamilyUnavailable and gets nothing', async () => {
    const ns = await createNamespace('require');
    const p = await pool('v4only', {
      addresses: ['203.0.113.24/30'],
      serviceAllocation: { namespaces: [ns] },
    });
    await service(ns, 'needs-both', { spec: { ipFamilyPolicy: 'RequireDualStack' } });
    const failed = await waitForReason(ns, 'needs-both', 'FamilyUnavailable', 'False');
    assert.match(failed.message ?? '', /IPv6/);
    assert.deepEqual(await ingressOf(ns, 'needs-both'), []);
    await waitForEvent(ns, 'needs-both', 'AllocationFailed', 'IPv6');
    await deletePools(p);
  });
});

describe('pool options', () => {
  test('avoidBuggyIPs skips .0 and .255; an IPv6 ::-address is never handed out automatically', async () => {
    const ns = await createNamespace('buggy');
    const p = await pool('buggy', {
      addresses: ['192.0.2.255', '192.0.2.0/31', '2001:db8:ff::/127'],
      avoidBuggyIPs: true,
      serviceAllocation: { namespaces: [ns] },
    });
    await service(ns, 'v4');
    assert.equal(await waitForAddress(api.core, ns, 'v4'), '192.0.2.1');
    await service(ns, 'v6', { spec: { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] } });
    assert.equal(await waitForAddress(api.core, ns, 'v6'), '2001:db8:ff::1');
    await service(ns, 'none-left');
    await waitForReason(ns, 'none-left', 'PoolExhausted', 'False');
    // Explicitly requested, a .0 address is fine.
    await service(ns, 'asks-for-zero', { annotations: { 'sluice.dev/addresses': '192.0.2.0' } });
    assert.equal(await waitForAddress(api.core, ns, 'asks-for-zero'), '192.0.2.0');
    await deletePools(p);
  });

  test('serviceAllocation: namespace selectors, Service selectors and priority', async () => {
    const gold = await createNamespace('gold', { tier: 'gold' });
    const plain = await createNamespace('plain');
    const general = await pool('general', {
      addresses: ['203.0.113.64/30'],
      serviceAllocation: { namespaces: [gold, plain] },
    });
    const low = await pool('gold-low', {
      addresses: ['203.0.113.72/30'],
      serviceAllocation: { priority: 20, namespaceSelectors: [{ matchLabels: { tier: 'gold' } }] },
    });
    const high = await pool('gold-high', {
      addresses: ['203.0.113.76/30'],
      serviceAllocation: {
        priority: 10,
        namespaceSelectors: [{ matchLabels: { tier: 'gold' } }],
        serviceSelectors: [{ matchExpressions: [{ key: 'expose', operator: 'In', values: ['public'] }] }],
      },
    });
    await service(gold, 'public', { labels: { expose: 'public' } });
    assert.equal(await waitForAddress(api.core, gold, 'public'), '203.0.113.76', 'priority 10 first');
    await service(gold, 'private');
    assert.equal(
      await waitForAddress(api.core, gold, 'private'),
      '203.0.113.72',
      'selector excludes gold-high',
    );
    await service(plain, 'public', { labels: { expose: 'public' } });
    assert.equal(await waitForAddress(api.core, plain, 'public'), '203.0.113.64', 'namespace not gold');

    // A tenant may not take a reserved pool by naming it.
    await service(plain, 'grabs-gold', { annotations: { 'metallb.io/address-pool': low } });
    await waitForReason(plain, 'grabs-gold', 'PoolNotAllowed', 'False');

    // Labelling the namespace later lets its waiting Service in.
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: plain, labels: { tier: 'gold' } } });
    assert.equal(await waitForAddress(api.core, plain, 'grabs-gold'), '203.0.113.73');
    // ... and moves nobody: an address still valid never changes.
    assert.deepEqual(await ingressOf(plain, 'public'), ['203.0.113.64']);
    await kubectl(cluster, ['delete', 'svc', '-n', plain, '--all']);
    await kubectl(cluster, ['delete', 'svc', '-n', gold, '--all']);
    await deletePools(general, low, high);
  });

  test('disabled drains: Services keep their addresses, new ones get none from it', async () => {
    const ns = await createNamespace('drain');
    const p = await pool('drain', {
      addresses: ['203.0.113.80/30'],
      serviceAllocation: { namespaces: [ns] },
    });
    await service(ns, 'before');
    assert.equal(await waitForAddress(api.core, ns, 'before'), '203.0.113.80');
    await pool('drain', {
      addresses: ['203.0.113.80/30'],
      disabled: true,
      serviceAllocation: { namespaces: [ns] },
    });
    await service(ns, 'after');
    const failed = await waitForReason(ns, 'after', 'NoMatchingPool', 'False');
    assert.match(failed.message ?? '', /disabled/);
    assert.deepEqual(await ingressOf(ns, 'before'), ['203.0.113.80']);
    await deletePools(p);
  });
});

describe('pool status, conflicts and shrinking', () => {
  test('status counts per family, Ready; an overlapping newer pool is Conflicting and hands out nothing', async () => {
    const ns = await createNamespace('status');
    const p = await pool('counted', {
      addresses: ['203.0.113.96/29', '2001:db8:96::/120'],
      serviceAllocation: { namespaces: [ns] },
    });
    await service(ns, 'one');
    await waitForAddress(api.core, ns, 'one');
    let status: Record<string, unknown> = {};
    await waitFor(
      async () => {
        status = await poolStatus(p);
        return status.assignedIPv4 === 1;
      },
      20_000,
      () => JSON.stringify(status),
    );
    assert.equal(status.availableIPv4, 7);
    assert.equal(status.assignedIPv6, 0);
    assert.equal(status.availableIPv6, 255, 'the ::-address is never handed out, so not counted');
    const conditions = status.conditions as Array<{ type: string; status: string }>;
    assert.equal(conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.equal(conditions.find((c) => c.type === 'Conflicting')?.status, 'False');

    const newer = await pool('overlapping', {
      addresses: ['203.0.113.100/30'],
      serviceAllocation: { namespaces: [ns] },
    });
    let newerStatus: Record<string, unknown> = {};
    await waitFor(
      async () => {
        newerStatus = await poolStatus(newer);
        const c = (newerStatus.conditions ?? []) as Array<{ type: string; status: string }>;
        return c.find((x) => x.type === 'Conflicting')?.status === 'True';
      },
      20_000,
      () => JSON.stringify(newerStatus),
    );
    // The older pool keeps working and is not the one marked.
    const older = (await poolStatus(p)).conditions as Array<{ type: string; status: string }>;
    assert.equal(older.find((c) => c.type === 'Conflicting')?.status, 'True');
    await service(ns, 'named-newer', { annotations: { 'sluice.dev/pool': newer } });
    await waitForReason(ns, 'named-newer', 'PoolConflicting', 'False');
    await deletePools(newer);
    await kubectl(cluster, ['delete', 'svc', '-n', ns, 'named-newer']);
    await deletePools(p);
  });

  test('shrinking a pool keeps the address with a warning, unless the pool asks for reallocation', async () => {
    const ns = await createNamespace('shrink');
    const p = await pool('shrink', {
      addresses: ['203.0.113.112/30', '203.0.113.120/30'],
      serviceAllocation: { namespaces: [ns] },
    });
    await service(ns, 'kept');
    assert.equal(await waitForAddress(api.core, ns, 'kept'), '203.0.113.112');
    await pool('shrink', { addresses: ['203.0.113.120/30'], serviceAllocation: { namespaces: [ns] } });
    const kept = await waitForReason(ns, 'kept', 'AddressOutsidePools', 'True');
    assert.match(kept.message ?? '', /203\.0\.113\.112/);
    await waitForEvent(ns, 'kept', 'AddressOutsidePools', '203.0.113.112');
    assert.deepEqual(await ingressOf(ns, 'kept'), ['203.0.113.112']);

    await pool('shrink', {
      addresses: ['203.0.113.120/30'],
      reallocateRemovedAddresses: true,
      serviceAllocation: { namespaces: [ns] },
    });
    await waitForIngress(ns, 'kept', ['203.0.113.120']);
    await waitForReason(ns, 'kept', 'Ensured', 'True');
    await deletePools(p);
  });
});

describe('restart', () => {
  test('after a restart every address (shared, dual-stack) is unchanged and nothing is written', async () => {
    const ns = await createNamespace('restart');
    const p = await pool('restart', {
      addresses: ['203.0.113.128/28', '2001:db8:128::/120'],
      serviceAllocation: { namespaces: [ns] },
    });
    const shared = { 'metallb.io/allow-shared-ip': 'k' };
    await service(ns, 'a', { annotations: shared, ports: [{ port: 80 }] });
    await waitForAddress(api.core, ns, 'a');
    await service(ns, 'b', { annotations: shared, ports: [{ port: 81 }] });
    await service(ns, 'c', { spec: { ipFamilyPolicy: 'PreferDualStack' } });
    await waitFor(async () => (await ingressOf(ns, 'c')).length === 2, 20_000);
    await waitForAddress(api.core, ns, 'b');
    const before = new Map<string, { ips: string[]; rv?: string }>();
    for (const name of ['a', 'b', 'c']) {
      const svc = (await readService(api.core, ns, name)) as V1Service;
      before.set(name, { ips: await ingressOf(ns, name), rv: svc.metadata?.resourceVersion });
    }
    assert.deepEqual(before.get('a')?.ips, before.get('b')?.ips);

    await sluice.stop();
    sluice = startSluice();
    await sluice.waitForLog((l) => l.msg === 'reconciling');
    // Give it time to (wrongly) act, then check it did not.
    await new Promise((r) => setTimeout(r, 1500));
    for (const name of ['a', 'b', 'c']) {
      const svc = (await readService(api.core, ns, name)) as V1Service;
      assert.deepEqual(await ingressOf(ns, name), before.get(name)?.ips, `${name} kept its addresses`);
      assert.equal(svc.metadata?.resourceVersion, before.get(name)?.rv, `${name} was not written`);
    }
    assert.equal(await sluice.metric('sluice_kube_writes_total', 'resource="services/status"'), 0);
    await kubectl(cluster, ['delete', 'svc', '-n', ns, '--all']);
    await deletePools(p);
  });
});
