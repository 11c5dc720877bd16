// End to end: Sluice reaches the real apiserver through a TCP proxy that cuts every connection
// on demand. After each cut its watches must recover on their own, and new Services still get
// addresses, without Sluice restarting.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { testCluster } from '../harness/test-cluster.ts';
import { clients, createPool, installCrds, kubectl, SluiceProcess, waitForAddress } from './support.ts';
import { TcpProxy } from './tcp-proxy.ts';

const CLASS = 'sluice.dev/e2e-watch';
const NS = 'e2e-watch';
const POOL = 'e2e-watch';
const POOL_ADDRESSES = new Set(Array.from({ length: 8 }, (_, i) => `198.19.0.${i}`));
const cluster = testCluster();
const api = clients(cluster.kubeconfigPath);
const handedOut = new Set<string>();
let proxy: TcpProxy | undefined;
let sluice: SluiceProcess | undefined;
let dir: string | undefined;

interface Kubeconfig {
  clusters: Array<{ name: string; cluster: { server: string } }>;
}

function serviceYaml(name: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  type: LoadBalancer
  loadBalancerClass: ${CLASS}
  selector:
    app.kubernetes.io/name: MyApp
  ports:
    - protocol: TCP
      port: 80
      targetPort: 9376
`;
}

const apply = (yaml: string): Promise<string> => kubectl(cluster, ['apply', '-f', '-'], yaml);

function running(): SluiceProcess {
  assert.ok(sluice, 'Sluice was not started');
  assert.equal(sluice.child.exitCode, null, `Sluice exited:\n${sluice.tail()}`);
  assert.equal(sluice.child.signalCode, null, `Sluice was killed:\n${sluice.tail()}`);
  return sluice;
}

/** Creates a Service and waits for its address, which must be a new one from the pool. */
async function serviceGetsAddress(name: string): Promise<string> {
  await apply(serviceYaml(name));
  const ip = await waitForAddress(api.core, NS, name, 20_000).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nsluice:\n${sluice?.tail()}`);
  });
  assert.ok(POOL_ADDRESSES.has(ip), `${name} got ${ip}, outside the pool`);
  assert.ok(!handedOut.has(ip), `${ip} was handed out twice`);
  handedOut.add(ip);
  return ip;
}

before(async () => {
  await installCrds(cluster);
  await kubectl(cluster, ['create', 'namespace', NS]);
  await createPool(cluster, POOL, ['198.19.0.0/29']);
  // Sluice gets a kubeconfig whose server is the proxy; everything else is unchanged.
  const config = parse(await readFile(cluster.kubeconfigPath, 'utf8')) as Kubeconfig;
  const server = config.clusters[0]?.cluster.server;
  assert.ok(server, 'no server in the test kubeconfig');
  proxy = await TcpProxy.start(TcpProxy.targetOf(server));
  for (const c of config.clusters) c.cluster.server = `https://127.0.0.1:${proxy.port}`;
  dir = await mkdtemp(join(tmpdir(), 'sluice-e2e-watch-'));
  const proxied = join(dir, 'kubeconfig');
  await writeFile(proxied, stringify(config), { mode: 0o600 });
  sluice = new SluiceProcess(proxied, [
    `--load-balancer-class=${CLASS}`,
    '--leader-elect=false',
    '--backoff-base=0.2',
    '--backoff-max=2',
  ]);
});

after(async () => {
  await sluice?.stop();
  await proxy?.close();
  await kubectl(cluster, ['delete', 'namespace', NS, '--wait=false']).catch(() => '');
  await kubectl(cluster, ['delete', 'addresspools', POOL, '--ignore-not-found']).catch(() => '');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('watch recovery through a failing network', () => {
  test('Service A gets an address through the proxy', async () => {
    await serviceGetsAddress('svc-a');
    assert.ok(proxy!.accepted > 0, 'Sluice did not connect through the proxy');
    assert.ok(proxy!.open > 0, 'Sluice holds no connection open (its watches should)');
    running();
  });

  test('after every connection is cut, Service B gets an address and the watch restart is counted', async () => {
    const cut = proxy!.resetAll();
    assert.ok(cut > 0, 'there was no connection to cut');
    await serviceGetsAddress('svc-b');
    const s = running();
    assert.ok((await s.metric('sluice_watch_restarts_total')) > 0, 'no watch restart counted');
    assert.ok(
      (await s.metric('sluice_watch_restarts_total', 'resource="services"')) > 0,
      'no restart of the Service watch counted',
    );
  });

  test('after three quick cuts in a row, Service C still gets an address and Sluice is still running', async () => {
    const s = running();
    const restartsBefore = await s.metric('sluice_watch_restarts_total');
    for (let i = 0; i < 3; i++) {
      proxy!.resetAll();
      await sleep(300);
    }
    await serviceGetsAddress('svc-c');
    running();
    assert.ok((await s.metric('sluice_watch_restarts_total')) > restartsBefore, 'the cuts caused no restart');
    // It serves the earlier Services still, with the addresses they had.
    for (const name of ['svc-a', 'svc-b', 'svc-c'])
      assert.ok(handedOut.has(await waitForAddress(api.core, NS, name)));
    assert.equal(s.lines.filter((l) => l.level === 'fatal').length, 0, s.tail());
  });
});
