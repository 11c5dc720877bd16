// The whole AWS pipeline against moto: annotations → settings → observe → plan → apply, until
// ready; then a second pass plans nothing (steady state: zero writes); an annotation removed goes
// back to its default; removal (observe what is owned → removal plan → apply) leaves nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LoadBalancerIntent, ServiceRef } from '../../src/intent/types.ts';
import { applyPlan, applyRemoval } from '../../src/providers/aws/apply.ts';
import type { AwsPlan } from '../../src/providers/aws/model.ts';
import { TAG } from '../../src/providers/aws/model.ts';
import { observe, observeOwned } from '../../src/providers/aws/observe.ts';
import { planLoadBalancer, planRemoval } from '../../src/providers/aws/plan.ts';
import { awsSettings } from '../../src/providers/aws/settings.ts';
import type { ApplyResult } from '../../src/providers/provider.ts';
import { type AwsSnapshot, awsSnapshot } from '../harness/aws-inspect.ts';
import { type SeededAccount, seedAccount } from '../harness/aws-seed.ts';
import { plainIntent } from '../harness/intent-fixture.ts';
import { type Moto, startMoto } from '../harness/moto.ts';
import { type IoWorld, ioWorld } from './aws-support.ts';

const CLUSTER = 'pipeline';
const SERVICE: ServiceRef = { namespace: 'shop', name: 'front', uid: 'c3d4e5f6-3333-4c4c-9d9d-000000000003' };
const A = 'service.beta.kubernetes.io/aws-load-balancer-';

let moto: Moto;
let account: SeededAccount;
let world: IoWorld;

function intent(annotations: Record<string, string>): LoadBalancerIntent {
  return plainIntent({
    service: SERVICE,
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, nodePort: 31080, targetPort: 8080 },
      { name: 'https', protocol: 'TCP', port: 443, nodePort: 31443, targetPort: 8443 },
    ],
    sourceRanges: ['203.0.113.0/24'],
    annotations,
    nodes: account.instances.map((i) => ({
      name: i.nodeName,
      providerID: i.providerID,
      labels: {},
      internalAddresses: [i.privateIp],
    })),
  });
}

function annotations(): Record<string, string> {
  return {
    [`${A}type`]: 'external',
    [`${A}nlb-target-type`]: 'instance',
    [`${A}scheme`]: 'internet-facing',
    [`${A}ssl-cert`]: account.certificates.join(','),
    [`${A}ssl-ports`]: 'https',
    [`${A}proxy-protocol`]: '*',
    [`${A}healthcheck-interval`]: '20',
    [`${A}additional-resource-tags`]: 'team=shop',
  };
}

/** One reconcile as the provider will run it. */
async function reconcile(asked: Record<string, string>): Promise<{ plan: AwsPlan; result: ApplyResult }> {
  const i = intent(asked);
  const { settings, problems } = awsSettings(i);
  assert.deepEqual(
    problems.filter((p) => p.severity === 'error'),
    [],
  );
  const observed = await observe(i, settings, world.observeDeps);
  const plan = planLoadBalancer(i, settings, observed, CLUSTER);
  assert.equal(plan.failure, undefined, JSON.stringify(plan.failure));
  return { plan, result: await applyPlan(plan, observed, world.applyDeps) };
}

async function untilReady(asked: Record<string, string>): Promise<ApplyResult> {
  for (let round = 0; round < 5; round++) {
    const { result } = await reconcile(asked);
    if (result.kind === 'ready') return result;
    assert.equal(result.kind, 'pending', JSON.stringify(result));
  }
  assert.fail('not ready after 5 reconciles');
}

function mine(snapshot: AwsSnapshot) {
  const owned = (tags: Record<string, string>) =>
    tags[TAG.cluster] === CLUSTER && tags[TAG.serviceUid] === SERVICE.uid;
  return {
    loadBalancers: snapshot.loadBalancers.filter((lb) => owned(lb.tags)),
    targetGroups: snapshot.targetGroups.filter((tg) => owned(tg.tags)),
    securityGroups: snapshot.securityGroups.filter((sg) => owned(sg.tags)),
    nodeRules: (snapshot.securityGroups.find((g) => g.id === account.nodeSecurityGroup)?.rules ?? []).filter(
      (r) => r.includes('kubernetes.io/rule/nlb/'),
    ),
  };
}

before(async () => {
  moto = await startMoto();
  account = await seedAccount({ endpoint: moto.endpoint, cluster: CLUSTER, nodeNames: ['node-a', 'node-b'] });
  world = ioWorld(moto.endpoint, CLUSTER);
});

after(async () => {
  await moto?.stop();
});

describe('settings → observe → plan → apply against moto', () => {
  test('the Service gets its NLB, and a second pass plans nothing', async () => {
    const result = await untilReady(annotations());
    assert.equal(result.kind, 'ready');
    const snapshot = mine(await awsSnapshot(moto.endpoint));
    assert.equal(snapshot.loadBalancers.length, 1);
    const lb = snapshot.loadBalancers[0];
    assert.ok(lb);
    if (result.kind === 'ready') assert.equal(result.ingress[0]?.hostname, lb.dnsName.toLowerCase());
    assert.equal(lb.tags.team, 'shop');
    assert.deepEqual(
      lb.listeners.map((l) => [l.port, l.protocol]),
      [
        [80, 'TCP'],
        [443, 'TLS'],
      ],
    );
    const tls = lb.listeners.find((l) => l.port === 443);
    assert.equal(tls?.defaultCertificate, account.certificates[0]);
    assert.deepEqual(tls?.certificates, [...account.certificates].sort());
    assert.equal(snapshot.targetGroups.length, 2);
    for (const tg of snapshot.targetGroups) {
      assert.equal(tg.attributes['proxy_protocol_v2.enabled'], 'true');
      assert.equal(tg.healthCheck.interval, 20);
      assert.equal(tg.targets.length, account.instances.length);
    }
    assert.equal(snapshot.securityGroups.length, 1);
    assert.ok(snapshot.securityGroups[0]?.rules.some((r) => r.includes('203.0.113.0/24')));
    assert.ok(snapshot.nodeRules.length > 0);

    const again = await reconcile(annotations());
    assert.deepEqual(again.plan.operations, [], 'steady state: nothing to write');
    assert.equal(again.result.kind, 'ready');
  });

  test('an annotation removed returns its setting to the default', async () => {
    const asked = annotations();
    delete asked[`${A}proxy-protocol`];
    delete asked[`${A}healthcheck-interval`];
    const result = await untilReady(asked);
    assert.equal(result.kind, 'ready');
    for (const tg of mine(await awsSnapshot(moto.endpoint)).targetGroups) {
      assert.equal(tg.attributes['proxy_protocol_v2.enabled'], 'false');
      assert.equal(tg.healthCheck.interval, 10);
    }
    assert.deepEqual((await reconcile(asked)).plan.operations, []);
  });

  test('removal leaves nothing Sluice made', async () => {
    for (let round = 0; round < 5; round++) {
      const observed = await observeOwned(SERVICE, world.observeDeps);
      const operations = planRemoval(
        observed.owned,
        observed.environment.nodeSecurityGroups,
        CLUSTER,
        SERVICE,
      );
      const result = await applyRemoval(operations, world.applyDeps, observed);
      if (result.kind === 'gone' && operations.length === 0) break;
    }
    const left = mine(await awsSnapshot(moto.endpoint));
    assert.deepEqual(left, { loadBalancers: [], targetGroups: [], securityGroups: [], nodeRules: [] });
  });
});
