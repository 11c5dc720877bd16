// The bare-metal lifecycle scenarios, end to end, on the real apiserver with Sluice as a
// separate process and the real kubectl: addresses from a pool, delete and type-change cleanup,
// classes, failures, restart. Run once with an admin kubeconfig (pool-lifecycle.test.ts) and
// once with only the Helm chart's ServiceAccount token (helm-chart.test.ts), which proves the
// chart's RBAC is enough.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testCluster } from '../harness/test-cluster.ts';
import {
  clients,
  createPool,
  eventsFor,
  installCrds,
  kubectl,
  readService,
  type SluiceProcess,
  waitFor,
  waitForAddress,
} from './support.ts';

export interface LifecycleOptions {
  /** Names the suite, and prefixes the namespace and pools. */
  name: string;
  loadBalancerClass: string;
  /** Starts Sluice for this suite (again after a restart). */
  startSluice: () => SluiceProcess;
  /** Runs before the suite's own set-up (e.g. installing the chart). */
  setup?: () => Promise<void>;
  teardown?: () => Promise<void>;
}

export function lifecycleScenarios(options: LifecycleOptions): void {
  const CLASS = options.loadBalancerClass;
  const NS = options.name;
  const MAIN_POOL = `${options.name}-main`;
  const TINY_POOL = `${options.name}-tiny`;
  const cluster = testCluster();
  const api = clients(cluster.kubeconfigPath);
  let sluice: SluiceProcess;

  function serviceYaml(
    name: string,
    extra: { annotations?: Record<string, string>; cls?: string; port?: number } = {},
  ): string {
    const annotations = Object.entries(extra.annotations ?? {})
      .map(([k, v]) => `    ${k}: "${v}"`)
      .join('\n');
    return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${NS}
${annotations ? `  annotations:\n${annotations}\n` : ''}spec:
  type: LoadBalancer
  loadBalancerClass: ${extra.cls ?? CLASS}
  selector:
    app.kubernetes.io/name: MyApp
  ports:
    - protocol: TCP
      port: ${extra.port ?? 80}
      targetPort: 9376
`;
  }

  const apply = (yaml: string): Promise<string> => kubectl(cluster, ['apply', '-f', '-'], yaml);
  /** A merge patch with the real kubectl, on the Service or on its status subresource. */
  const patchService = (name: string, patch: object, subresource?: 'status'): Promise<string> =>
    kubectl(cluster, [
      'patch',
      'svc',
      name,
      '-n',
      NS,
      '--type=merge',
      '-p',
      JSON.stringify(patch),
      ...(subresource ? [`--subresource=${subresource}`] : []),
    ]);

  const startSluice = options.startSluice;

  before(async () => {
    await options.setup?.();
    await installCrds(cluster);
    await kubectl(cluster, ['create', 'namespace', NS]);
    await createPool(cluster, MAIN_POOL, ['198.51.100.10-198.51.100.20']);
    await createPool(cluster, TINY_POOL, ['203.0.113.50/32'], false);
    sluice = startSluice();
  });

  after(async () => {
    await sluice?.stop();
    await kubectl(cluster, ['delete', 'namespace', NS, '--wait=false']).catch(() => '');
    await kubectl(cluster, ['delete', 'addresspools', MAIN_POOL, TINY_POOL]).catch(() => '');
    await options.teardown?.();
  });

  describe(`pool provider lifecycle (${options.name})`, () => {
    test('the Service from the Kubernetes docs gets the lowest address of the pool, Events and a ready condition', async () => {
      await apply(serviceYaml('my-service'));
      const ip = await waitForAddress(api.core, NS, 'my-service');
      assert.equal(ip, '198.51.100.10');
      const svc = await readService(api.core, NS, 'my-service');
      assert.deepEqual(svc?.metadata?.finalizers, ['sluice.dev/load-balancer-cleanup']);
      assert.equal(svc?.status?.loadBalancer?.ingress?.[0]?.ipMode, 'VIP');
      const ready = svc?.status?.conditions?.find((c) => c.type === 'LoadBalancerReady');
      assert.equal(ready?.status, 'True');
      assert.equal(ready?.reason, 'Ensured');
      await waitFor(async () => {
        const reasons = (await eventsFor(api, NS, 'my-service')).map((e) => e.reason);
        return ['EnsuringLoadBalancer', 'IPAllocated', 'EnsuredLoadBalancer'].every((r) =>
          reasons.includes(r),
        );
      }, 10_000);
      const shown = await kubectl(cluster, [
        'get',
        'svc',
        'my-service',
        '-n',
        NS,
        '-o',
        'jsonpath={.status.loadBalancer.ingress[0].ip}',
      ]);
      assert.equal(shown, '198.51.100.10');
      const port = await sluice.healthPort();
      for (const path of ['/healthz', '/readyz']) {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        assert.equal(res.status, 200, `${path}: ${await res.text()}`);
      }
      assert.match(
        await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
        /^sluice_reconcile_total\{result="success"\} \d+/m,
      );
    });

    test('deleting a Service removes the finalizer and frees its address for the next Service', async () => {
      await apply(serviceYaml('short-lived'));
      const ip = await waitForAddress(api.core, NS, 'short-lived');
      assert.equal(ip, '198.51.100.11');
      await kubectl(cluster, ['delete', 'svc', 'short-lived', '-n', NS, '--timeout=20s']);
      assert.equal(await readService(api.core, NS, 'short-lived'), undefined);
      await apply(serviceYaml('successor'));
      assert.equal(await waitForAddress(api.core, NS, 'successor'), '198.51.100.11');
      const reasons = (await eventsFor(api, NS, 'short-lived')).map((e) => e.reason);
      assert.ok(reasons.includes('DeletingLoadBalancer'), `events: ${reasons}`);
    });

    test('changing the type away from LoadBalancer clears the status, removes the finalizer and frees the address', async () => {
      await apply(serviceYaml('changer'));
      const ip = await waitForAddress(api.core, NS, 'changer');
      await patchService('changer', { spec: { type: 'ClusterIP', loadBalancerClass: null } });
      await waitFor(
        async () => {
          const s = await readService(api.core, NS, 'changer');
          return (
            (s?.status?.loadBalancer?.ingress ?? []).length === 0 &&
            !(s?.metadata?.finalizers ?? []).includes('sluice.dev/load-balancer-cleanup') &&
            !(s?.status?.conditions ?? []).some((c) => c.type === 'LoadBalancerReady')
          );
        },
        15_000,
        () => 'status or finalizer not cleared',
      );
      await apply(serviceYaml('inheritor'));
      assert.equal(await waitForAddress(api.core, NS, 'inheritor'), ip);
      await waitFor(
        async () => (await eventsFor(api, NS, 'changer')).some((e) => e.reason === 'DeletedLoadBalancer'),
        10_000,
      );
    });

    test('a Service of another class is never touched', async () => {
      await apply(serviceYaml('foreign', { cls: 'example.com/other' }));
      // A later Service of our class being served proves Sluice has seen and passed over the foreign one.
      await apply(serviceYaml('witness', { port: 81 }));
      await waitForAddress(api.core, NS, 'witness');
      const foreign = await readService(api.core, NS, 'foreign');
      assert.deepEqual(foreign?.metadata?.finalizers ?? [], []);
      assert.equal(foreign?.status?.loadBalancer?.ingress, undefined);
      assert.equal(foreign?.status?.conditions, undefined);
      assert.deepEqual(await eventsFor(api, NS, 'foreign'), []);
      assert.ok(
        !sluice.lines.some((l) => String(l.service ?? '') === `${NS}/foreign`),
        'Sluice logged about the foreign Service',
      );
    });

    test("another installation's Service (another class, the same finalizer) is left alone when deleted", async () => {
      const ip = '192.0.2.200';
      await apply(serviceYaml('neighbour', { cls: 'example.com/other-sluice' }));
      await patchService('neighbour', { metadata: { finalizers: ['sluice.dev/load-balancer-cleanup'] } });
      await patchService('neighbour', { status: { loadBalancer: { ingress: [{ ip }] } } }, 'status');
      await kubectl(cluster, ['delete', 'svc', 'neighbour', '-n', NS, '--wait=false']);
      await apply(serviceYaml('witness-2', { port: 83 }));
      await waitForAddress(api.core, NS, 'witness-2');
      const neighbour = await readService(api.core, NS, 'neighbour');
      assert.ok(neighbour?.metadata?.deletionTimestamp, 'neighbour should be terminating');
      assert.deepEqual(neighbour?.metadata?.finalizers, ['sluice.dev/load-balancer-cleanup']);
      assert.equal(neighbour?.status?.loadBalancer?.ingress?.[0]?.ip, ip);
      // Let the other installation finish: remove its finalizer by hand.
      await patchService('neighbour', { metadata: { finalizers: null } });
    });

    test('an exhausted pool gives AllocationFailed and condition reason PoolExhausted, and recovers when freed', async () => {
      await apply(serviceYaml('tiny-1', { annotations: { 'sluice.dev/pool': TINY_POOL } }));
      assert.equal(await waitForAddress(api.core, NS, 'tiny-1'), '203.0.113.50');
      await apply(serviceYaml('tiny-2', { annotations: { 'metallb.io/address-pool': TINY_POOL } }));
      const condition = await waitForCondition('tiny-2', 'PoolExhausted');
      assert.equal(condition.status, 'False');
      assert.match(condition.message ?? '', new RegExp(TINY_POOL));
      await waitFor(
        async () =>
          (await eventsFor(api, NS, 'tiny-2')).some(
            (e) => e.reason === 'AllocationFailed' && e.type === 'Warning',
          ),
        10_000,
      );
      await kubectl(cluster, ['delete', 'svc', 'tiny-1', '-n', NS, '--timeout=20s']);
      assert.equal(await waitForAddress(api.core, NS, 'tiny-2'), '203.0.113.50');
    });

    test('bad requested addresses give specific reasons, never a crash', async () => {
      const cases: Array<[string, Record<string, string>, string]> = [
        ['bad-syntax', { 'sluice.dev/addresses': 'not-an-ip' }, 'InvalidAnnotation'],
        ['outside', { 'metallb.io/loadBalancerIPs': '192.0.2.99' }, 'AddressOutsidePools'],
        ['taken', { 'sluice.dev/addresses': '198.51.100.10' }, 'AddressInUse'],
        ['unknown-pool', { 'sluice.dev/pool': 'no-such-pool' }, 'PoolNotFound'],
        [
          'conflict',
          { 'sluice.dev/addresses': '198.51.100.12', 'metallb.io/loadBalancerIPs': '198.51.100.13' },
          'ConflictingAnnotations',
        ],
      ];
      for (const [name, annotations] of cases) await apply(serviceYaml(name, { annotations }));
      for (const [name, , reason] of cases) {
        const condition = await waitForCondition(name, reason);
        assert.equal(condition.status, 'False');
        const svc = await readService(api.core, NS, name);
        assert.equal(svc?.status?.loadBalancer?.ingress, undefined, `${name} got an address`);
      }
      await waitFor(
        async () => (await eventsFor(api, NS, 'outside')).some((e) => e.reason === 'AllocationFailed'),
        10_000,
      );
      await waitFor(
        async () => (await eventsFor(api, NS, 'bad-syntax')).some((e) => e.reason === 'InvalidAnnotation'),
        10_000,
      );
      // Retries repeat the same failure; the recorder folds repeats into one Event, not one per try.
      const failedTries = (): number =>
        sluice.lines.filter((l) => l.service === `${NS}/outside` && l.msg === 'load balancer not ensured')
          .length;
      await waitFor(
        () => failedTries() >= 3,
        15_000,
        () => `only ${failedTries()} tries`,
      );
      const allocationFailed = (await eventsFor(api, NS, 'outside')).filter(
        (e) => e.reason === 'AllocationFailed',
      );
      assert.equal(allocationFailed.length, 1, JSON.stringify(allocationFailed));
      // Fixing the manifest is enough: the requested free address is then assigned.
      await apply(serviceYaml('bad-syntax', { annotations: { 'sluice.dev/addresses': '198.51.100.16' } }));
      assert.equal(await waitForAddress(api.core, NS, 'bad-syntax'), '198.51.100.16');
      assert.equal(sluice.child.exitCode, null, 'Sluice exited');
    });

    test('after a restart every address is unchanged and in-sync Services get no writes', async () => {
      const list = await api.core.listNamespacedService({ namespace: NS });
      const before = new Map(
        list.items.map((s) => [
          s.metadata!.name!,
          { rv: s.metadata!.resourceVersion, ip: s.status?.loadBalancer?.ingress?.[0]?.ip },
        ]),
      );
      assert.ok([...before.values()].filter((v) => v.ip).length >= 5);
      await sluice.stop();
      sluice = startSluice();
      const managed = list.items.filter((s) => s.spec?.loadBalancerClass === CLASS).length;
      // Every managed Service has been reconciled once the reconcile count covers them all and the queue is empty.
      await waitFor(
        async () =>
          (await sluice.metric('sluice_reconcile_total')) >= managed &&
          (await sluice.metric('sluice_workqueue_depth')) === 0,
        20_000,
        () => sluice.tail(),
      );
      assert.equal(
        await sluice.metric('sluice_kube_writes_total', 'resource="services'),
        0,
        'Sluice wrote to Services after restart',
      );
      const afterList = await api.core.listNamespacedService({ namespace: NS });
      for (const s of afterList.items) {
        const was = before.get(s.metadata!.name!);
        assert.equal(
          s.status?.loadBalancer?.ingress?.[0]?.ip,
          was?.ip,
          `address of ${s.metadata!.name} changed`,
        );
        if (was?.ip) assert.equal(s.metadata!.resourceVersion, was.rv, `${s.metadata!.name} was written`);
      }
      // The next new Service still gets a free address, not one that was restored.
      await apply(serviceYaml('after-restart', { port: 82 }));
      const ip = await waitForAddress(api.core, NS, 'after-restart');
      assert.ok(![...before.values()].some((v) => v.ip === ip), `${ip} was handed out twice`);
    });
  });

  async function waitForCondition(
    name: string,
    reason: string,
  ): Promise<{ status: string; message?: string }> {
    let found: { status: string; reason: string; message?: string } | undefined;
    await waitFor(
      async () => {
        const s = await readService(api.core, NS, name);
        found = s?.status?.conditions?.find((c) => c.type === 'LoadBalancerReady');
        return found?.reason === reason;
      },
      15_000,
      () => `${name}: condition ${JSON.stringify(found)}; sluice:\n${sluice.tail()}`,
    );
    return found!;
  }
}
