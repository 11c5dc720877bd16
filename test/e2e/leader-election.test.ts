// Two Sluice processes against one cluster: only the lease holder acts; when it dies
// (SIGKILL, so the lease must expire) or leaves (SIGTERM, so it releases), the other takes over.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testCluster } from '../harness/test-cluster.ts';
import {
  clients,
  createPool,
  installCrds,
  kubectl,
  SluiceProcess,
  waitFor,
  waitForAddress,
} from './support.ts';

const CLASS = 'sluice.dev/e2e-leader';
const NS = 'e2e-leader';
const LEASE = 'sluice-e2e-leader';
const cluster = testCluster();
const api = clients(cluster.kubeconfigPath);
const processes: SluiceProcess[] = [];

function startSluice(identity: string): SluiceProcess {
  const p = new SluiceProcess(cluster.kubeconfigPath, [
    `--load-balancer-class=${CLASS}`,
    '--leader-elect=true',
    `--leader-election-namespace=${NS}`,
    `--leader-election-lease=${LEASE}`,
    `--leader-election-identity=${identity}`,
    '--lease-duration=4',
    '--renew-deadline=3',
    '--retry-period=0.5',
  ]);
  processes.push(p);
  return p;
}

const service = (name: string): string => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${NS} }
spec:
  type: LoadBalancer
  loadBalancerClass: ${CLASS}
  ports: [{ port: 80, targetPort: 9376 }]
`;

async function holder(): Promise<string | undefined> {
  try {
    const lease = await api.kc
      .makeApiClient((await import('@kubernetes/client-node')).CoordinationV1Api)
      .readNamespacedLease({ name: LEASE, namespace: NS });
    return lease.spec?.holderIdentity ?? undefined;
  } catch {
    return undefined;
  }
}

before(async () => {
  await installCrds(cluster);
  await kubectl(cluster, ['create', 'namespace', NS]);
  await createPool(cluster, 'e2e-leader', ['198.18.0.0/29']);
});

after(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await kubectl(cluster, ['delete', 'namespace', NS, '--wait=false']).catch(() => '');
  await kubectl(cluster, ['delete', 'addresspool', 'e2e-leader']).catch(() => '');
});

describe('leader election', () => {
  test('only the leader acts, and a standby takes over when the leader is killed or stops', async () => {
    const a = startSluice('replica-a');
    await a.waitForLog((l) => l.msg === 'became leader');
    const b = startSluice('replica-b');
    await b.waitForLog((l) => l.msg === 'caches synced');
    assert.equal(await holder(), 'replica-a');

    await kubectl(cluster, ['apply', '-f', '-'], service('first'));
    assert.equal(await waitForAddress(api.core, NS, 'first'), '198.18.0.0');
    // The standby has the same caches but must not act.
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(!b.lines.some((l) => l.msg === 'became leader' || l.msg === 'reconciling'), b.tail());
    assert.equal(await b.metric('sluice_reconcile_total'), 0);

    // Killed without a chance to release: the standby waits for the lease to expire, then leads.
    await a.stop('SIGKILL');
    await b.waitForLog((l) => l.msg === 'became leader', 15_000);
    assert.equal(await holder(), 'replica-b');
    await kubectl(cluster, ['apply', '-f', '-'], service('second'));
    assert.equal(await waitForAddress(api.core, NS, 'second'), '198.18.0.1');
    // The new leader adopted the first Service's address rather than handing it out again.
    const first = await api.core.readNamespacedService({ name: 'first', namespace: NS });
    assert.equal(first.status?.loadBalancer?.ingress?.[0]?.ip, '198.18.0.0');

    // A graceful stop releases the lease, so the next replica takes over well before expiry.
    const c = startSluice('replica-c');
    await c.waitForLog((l) => l.msg === 'caches synced');
    assert.equal(await b.stop('SIGTERM'), 0);
    assert.ok(
      b.lines.some((l) => l.msg === 'released leader lease'),
      b.tail(),
    );
    await c.waitForLog((l) => l.msg === 'became leader', 10_000);
    await waitFor(async () => (await holder()) === 'replica-c', 5000);
  });

  test('a leader that can no longer renew its lease stops acting and exits', async () => {
    const leader = processes.find(
      (p) =>
        p.child.exitCode === null &&
        p.child.signalCode === null &&
        p.lines.some((l) => l.msg === 'became leader'),
    );
    assert.ok(leader, 'a running leader from the previous test');
    // Someone else takes the lease for a long time: every renewal now fails. A merge patch has
    // no resourceVersion, so the leader's own renewals cannot make it conflict.
    await kubectl(cluster, [
      'patch',
      'lease',
      LEASE,
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"spec":{"holderIdentity":"usurper","leaseDurationSeconds":3600}}',
    ]);
    const code = await Promise.race([
      leader.exited,
      new Promise((r) => setTimeout(() => r('still running'), 15_000)),
    ]);
    assert.equal(code, 1, leader.tail());
    assert.ok(
      leader.lines.some((l) => l.msg === 'leader lease not renewed within the renew deadline; stepping down'),
    );
  });
});
