// The plan fed by the real annotation parser (settings.ts): the hand-built fixture agrees with it, and
// annotations added, edited and removed on a running load balancer turn into just the right operations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadBalancerIntent } from '../../src/intent/types.ts';
import type { AwsOperation, AwsPlan } from '../../src/providers/aws/model.ts';
import { planLoadBalancer } from '../../src/providers/aws/plan.ts';
import { AWS_ANNOTATIONS as A, awsSettings } from '../../src/providers/aws/settings.ts';
import {
  CLUSTER,
  environment,
  FakeAccount,
  GOLDEN_ANNOTATIONS,
  intent,
  settings,
} from './aws-plan-fixtures.ts';

function planFor(
  account: FakeAccount,
  annotations: Record<string, string>,
  extra: Partial<LoadBalancerIntent> = {},
) {
  const i = intent({ annotations, ...extra });
  const { settings: s, problems } = awsSettings(i);
  assert.deepEqual(
    problems.filter((p) => p.severity === 'error'),
    [],
  );
  return planLoadBalancer(i, s, account.observed(), CLUSTER);
}

function converge(account: FakeAccount, annotations: Record<string, string>): void {
  for (let pass = 0; pass < 6; pass++) {
    const p = planFor(account, annotations);
    if (p.operations.length === 0) {
      if (account.owned.loadBalancers.every((lb) => lb.state === 'active')) return;
      account.activate();
      continue;
    }
    account.apply(p.operations);
  }
  assert.fail('no steady state');
}

const attributesOf = (p: AwsPlan, op: AwsOperation['op']) =>
  p.operations.flatMap((o) => (o.op === op && 'attributes' in o ? [o.attributes] : []));

describe('plan from annotations (settings.ts)', () => {
  it('the golden Service’s annotations give exactly the fixture settings', () => {
    const { settings: parsed, problems } = awsSettings(intent({ annotations: GOLDEN_ANNOTATIONS }));
    assert.deepEqual(problems, []);
    assert.deepEqual(parsed, settings());
  });

  it('annotations added, then removed: every setting goes back to its default, then nothing', () => {
    const account = new FakeAccount(environment());
    converge(account, GOLDEN_ANNOTATIONS);
    const tuned = {
      ...GOLDEN_ANNOTATIONS,
      [A.crossZone]: 'true',
      [A.accessLogEnabled]: 'true',
      [A.accessLogBucket]: 'nlb-logs',
      [A.accessLogPrefix]: 'storefront',
      [A.proxyProtocol]: '*',
      [A.connectionIdleTimeout]: '600',
      [A.healthCheckInterval]: '30',
      [A.sslNegotiationPolicy]: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      [A.additionalResourceTags]: 'team=storefront,cost=a1',
    };
    const on = planFor(account, tuned);
    assert.deepEqual(attributesOf(on, 'modifyLoadBalancerAttributes'), [
      {
        'load_balancing.cross_zone.enabled': 'true',
        'access_logs.s3.enabled': 'true',
        'access_logs.s3.bucket': 'nlb-logs',
        'access_logs.s3.prefix': 'storefront',
      },
    ]);
    assert.deepEqual(attributesOf(on, 'modifyTargetGroupAttributes'), [
      { 'proxy_protocol_v2.enabled': 'true' },
      { 'proxy_protocol_v2.enabled': 'true' },
      { 'proxy_protocol_v2.enabled': 'true' },
    ]);
    assert.deepEqual(attributesOf(on, 'modifyListenerAttributes'), [{ 'tcp.idle_timeout.seconds': '600' }]);
    assert.equal(on.operations.filter((o) => o.op === 'modifyTargetGroupHealthCheck').length, 3);
    assert.equal(on.operations.filter((o) => o.op === 'modifyListener').length, 1);
    assert.equal(on.operations.filter((o) => o.op === 'addTags').length, 8);
    account.apply(on.operations);
    assert.deepEqual(planFor(account, tuned).operations, []);

    const off = planFor(account, GOLDEN_ANNOTATIONS);
    assert.deepEqual(attributesOf(off, 'modifyLoadBalancerAttributes'), [
      { 'load_balancing.cross_zone.enabled': 'false', 'access_logs.s3.enabled': 'false' },
    ]);
    assert.deepEqual(attributesOf(off, 'modifyTargetGroupAttributes'), [
      { 'proxy_protocol_v2.enabled': 'false' },
      { 'proxy_protocol_v2.enabled': 'false' },
      { 'proxy_protocol_v2.enabled': 'false' },
    ]);
    assert.deepEqual(attributesOf(off, 'modifyListenerAttributes'), [{ 'tcp.idle_timeout.seconds': '350' }]);
    assert.deepEqual(
      off.operations.filter((o) => o.op === 'removeTags').map((o) => 'keys' in o && o.keys),
      Array(8).fill(['cost']),
    );
    account.apply(off.operations);
    assert.deepEqual(planFor(account, GOLDEN_ANNOTATIONS).operations, []);
    // Back where the golden Service started: the fixture settings see nothing to do either.
    assert.deepEqual(planLoadBalancer(intent(), settings(), account.observed(), CLUSTER).operations, []);
  });

  it('aws-load-balancer-internal on a running Service: replaced, and converges', () => {
    const account = new FakeAccount(environment());
    converge(account, GOLDEN_ANNOTATIONS);
    const internal = { ...GOLDEN_ANNOTATIONS, [A.scheme]: 'internal' };
    const first = planFor(account, internal);
    assert.deepEqual(
      first.changes.map((c) => c.reason),
      ['ReplacingLoadBalancer'],
    );
    converge(account, internal);
    assert.deepEqual(
      account.owned.loadBalancers.map((lb) => lb.scheme),
      ['internal'],
    );
  });
});
