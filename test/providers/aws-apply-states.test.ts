// What apply reports for the load-balancer states and failures moto never shows (it makes an NLB
// active on the next Describe and deletes security groups still in use): a fake ELBv2/EC2 answers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { applyPlan, applyRemoval } from '../../src/providers/aws/apply.ts';
import { AwsClient, apiName } from '../../src/providers/aws/client.ts';
import { AwsInventory } from '../../src/providers/aws/inventory.ts';
import type { AwsObserved, AwsPlan, ObservedLoadBalancer } from '../../src/providers/aws/model.ts';

const ARN = 'arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/sl-shop-web-abc/1';

function deps(answer: (api: string, input: Record<string, unknown>) => unknown) {
  const calls: string[] = [];
  const aws = new AwsClient({
    region: 'us-east-1',
    logger: pino({ level: 'silent' }),
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    clock: { now: () => 0, sleep: async () => {} },
    send: async (_service, command) => {
      const api = apiName(command);
      calls.push(api);
      const out = answer(api, (command as { input: Record<string, unknown> }).input);
      if (out instanceof Error) throw out;
      return { $metadata: {}, ...(out as object) };
    },
  });
  const inventory = new AwsInventory({ aws, logger: pino({ level: 'silent' }) });
  return { deps: { aws, inventory, logger: pino({ level: 'silent' }), provisioningRetryMs: 4000 }, calls };
}

function awsError(code: string, status = 400): Error {
  return Object.assign(new Error(`${code}: it says no`), {
    name: code,
    Code: code,
    $metadata: { httpStatusCode: status, requestId: `req-${code}` },
  });
}

function observedWith(state: string): AwsObserved {
  const lb: ObservedLoadBalancer = {
    arn: ARN,
    name: 'sl-shop-web-abc',
    scheme: 'internet-facing',
    state,
    dnsName: 'SL-Shop-Web-abc-1.elb.us-east-1.amazonaws.com',
    ipAddressType: 'ipv4',
    vpcId: 'vpc-1',
    subnetMappings: [],
    securityGroups: [],
    attributes: {},
    tags: {},
    listeners: [],
  };
  return {
    environment: {
      vpcCidrs: [],
      subnets: [],
      instances: [],
      nodeSecurityGroups: [],
      namedSecurityGroups: [],
    },
    owned: { loadBalancers: [lb], targetGroups: [], securityGroups: [] },
  };
}

const NOTHING: AwsPlan = { operations: [], loadBalancerName: 'sl-shop-web-abc', changes: [], notices: [] };
const CHANGE: AwsPlan = {
  operations: [
    {
      op: 'modifyLoadBalancerAttributes',
      loadBalancer: { name: 'sl-shop-web-abc' },
      attributes: { 'a.b': 'c' },
    },
  ],
  loadBalancerName: 'sl-shop-web-abc',
  changes: [{ reason: 'UpdatedLoadBalancer', message: 'attributes' }],
  notices: [{ reason: 'Notice', message: 'heads up' }],
};

describe('apply: load balancer states and failures', () => {
  test('nothing to do and already active: ready from what observe saw, no call', async () => {
    const { deps: d, calls } = deps(() => ({}));
    assert.deepEqual(await applyPlan(NOTHING, observedWith('active'), d), {
      kind: 'ready',
      ingress: [{ hostname: 'sl-shop-web-abc-1.elb.us-east-1.amazonaws.com' }],
      changed: [],
      released: [],
    });
    assert.deepEqual(calls, []);
  });

  test('provisioning: pending with the Provisioning reason and a short retry', async () => {
    const { deps: d } = deps(() => ({}));
    const result = await applyPlan(NOTHING, observedWith('provisioning'), d);
    assert.deepEqual(result, {
      kind: 'pending',
      reason: 'Provisioning',
      message: 'load balancer sl-shop-web-abc is provisioning',
      retryAfterMs: 4000,
    });
  });

  test('after changes the state is read again; changes and notices are reported', async () => {
    const { deps: d, calls } = deps((api) =>
      api === 'DescribeLoadBalancers'
        ? {
            LoadBalancers: [
              { LoadBalancerArn: ARN, State: { Code: 'active' }, DNSName: 'X-1.ELB.amazonaws.com' },
            ],
          }
        : {},
    );
    const result = await applyPlan(CHANGE, observedWith('provisioning'), d);
    assert.deepEqual(result, {
      kind: 'ready',
      ingress: [{ hostname: 'x-1.elb.amazonaws.com' }],
      changed: CHANGE.changes,
      released: [],
      notices: CHANGE.notices,
    });
    assert.deepEqual(calls, ['ModifyLoadBalancerAttributes', 'DescribeLoadBalancers']);
  });

  test('failed and impaired', async () => {
    const failed = deps(() => ({
      LoadBalancers: [
        { LoadBalancerArn: ARN, State: { Code: 'failed', Reason: 'no capacity' }, DNSName: 'x' },
      ],
    }));
    const result = await applyPlan(CHANGE, observedWith('active'), failed.deps);
    assert.equal(result.kind, 'failed');
    assert.equal(result.kind === 'failed' ? result.reason : '', 'LoadBalancerFailed');
    assert.match(result.kind === 'failed' ? result.message : '', /no capacity/);
    const impaired = await applyPlan(NOTHING, observedWith('active_impaired'), deps(() => ({})).deps);
    assert.equal(impaired.kind, 'ready');
    assert.ok(
      impaired.kind === 'ready' && impaired.notices?.some((n) => n.reason === 'LoadBalancerImpaired'),
    );
  });

  test('a plan that cannot be made fails without a call', async () => {
    const { deps: d, calls } = deps(() => ({}));
    const result = await applyPlan(
      { ...NOTHING, failure: { reason: 'NoSubnets', message: 'no subnet is tagged for internet-facing' } },
      observedWith('active'),
      d,
    );
    assert.deepEqual(result, {
      kind: 'failed',
      reason: 'NoSubnets',
      message: 'no subnet is tagged for internet-facing',
    });
    assert.deepEqual(calls, []);
  });

  test('throttled past the attempts: pending, and the changes begun are reported', async () => {
    const { deps: d } = deps((api) => (api === 'SetSubnets' ? awsError('Throttling') : {}));
    const result = await applyPlan(
      {
        ...CHANGE,
        operations: [
          ...CHANGE.operations,
          { op: 'setSubnets', loadBalancerArn: ARN, subnetMappings: [{ subnetId: 'subnet-1' }] },
        ],
      },
      observedWith('active'),
      d,
    );
    assert.equal(result.kind, 'pending');
    if (result.kind !== 'pending') return;
    assert.equal(result.reason, 'AwsThrottled');
    assert.match(result.message, /request ID req-Throttling/);
    assert.deepEqual(result.changed, CHANGE.changes);
  });

  test('a name the plan never made is a failed plan, not a crash', async () => {
    const { deps: d } = deps(() => ({}));
    const result = await applyPlan(
      {
        ...NOTHING,
        operations: [
          { op: 'registerTargets', targetGroup: { name: 'never-made' }, targets: [{ id: 'i-1', port: 1 }] },
        ],
      },
      observedWith('active'),
      d,
    );
    assert.equal(result.kind, 'failed');
    assert.equal(result.kind === 'failed' ? result.reason : '', 'InvalidPlan');
  });

  test('removal: a group still in use waits; an access problem waits too (never gives up)', async () => {
    const inUse = deps(() => awsError('DependencyViolation'));
    const waiting = await applyRemoval([{ op: 'deleteSecurityGroup', groupId: 'sg-1' }], inUse.deps);
    assert.equal(waiting.kind, 'pending');
    assert.equal(waiting.kind === 'pending' ? waiting.retryAfterMs : 0, 10_000);
    const denied = deps(() => awsError('AccessDenied', 403));
    const blocked = await applyRemoval([{ op: 'deleteLoadBalancer', loadBalancerArn: ARN }], denied.deps);
    assert.equal(blocked.kind, 'pending');
    assert.match(
      blocked.kind === 'pending' ? blocked.message : '',
      /AccessDenied.*request ID req-AccessDenied/,
    );
    const gone = deps(() => awsError('InvalidGroup.NotFound'));
    assert.deepEqual(await applyRemoval([{ op: 'deleteSecurityGroup', groupId: 'sg-1' }], gone.deps), {
      kind: 'gone',
      released: [],
    });
  });
});
