import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadBalancerIntent } from '../../src/intent/types.ts';
import { ADDITIONAL_TAG_KEYS_TAG } from '../../src/providers/aws/desired.ts';
import type {
  AwsOperation,
  AwsPlan,
  AwsSettings,
  ObservedLoadBalancer,
  SecurityGroupRule,
} from '../../src/providers/aws/model.ts';
import { loadBalancerName, nodeRuleDescription } from '../../src/providers/aws/names.ts';
import { planLoadBalancer, planRemoval } from '../../src/providers/aws/plan.ts';
import {
  assertGolden,
  CERT_A,
  CERT_B,
  CERT_C,
  CLUSTER,
  clone,
  environment,
  FakeAccount,
  intent,
  node,
  SERVICE,
  settings,
  targetGroupAttributes,
} from './aws-plan-fixtures.ts';

const plan = (account: FakeAccount, i: LoadBalancerIntent = intent(), s: AwsSettings = settings()): AwsPlan =>
  planLoadBalancer(i, s, account.observed(), CLUSTER);

/** Plans and applies (activating new load balancers between passes) until a plan is empty. */
function converge(
  account: FakeAccount,
  i: LoadBalancerIntent = intent(),
  s: AwsSettings = settings(),
): AwsPlan[] {
  const plans: AwsPlan[] = [];
  for (let pass = 0; pass < 6; pass++) {
    const p = plan(account, i, s);
    assert.equal(p.failure, undefined, p.failure?.message);
    plans.push(p);
    if (p.operations.length === 0) {
      if (!account.owned.loadBalancers.some((lb) => lb.state !== 'active')) return plans;
      account.activate();
      continue;
    }
    account.apply(p.operations);
  }
  assert.fail(`no steady state after 6 passes: ${JSON.stringify(plans.at(-1)?.operations)}`);
}

function converged(i: LoadBalancerIntent = intent(), s: AwsSettings = settings()): FakeAccount {
  const account = new FakeAccount(environment());
  converge(account, i, s);
  return account;
}

const kinds = (p: AwsPlan) => p.operations.map((o) => o.op);
const indexOf = (p: AwsPlan, predicate: (o: AwsOperation) => boolean) => p.operations.findIndex(predicate);
const currentLb = (account: FakeAccount) => account.owned.loadBalancers[0]!;
const tgArnOfPort = (account: FakeAccount, port: number) =>
  account.owned.targetGroups.find((tg) =>
    tg.tags['sluice.dev/resource']?.startsWith(`target-group:${port}/`),
  )!.arn;
const listenerArn = (account: FakeAccount, port: number) =>
  currentLb(account).listeners.find((l) => l.port === port)!.arn;
const nodeGroup = (account: FakeAccount) =>
  account.environment.nodeSecurityGroups.find((g) => g.id === 'sg-node')!;

const LB = loadBalancerName(CLUSTER, SERVICE, 'internet-facing');
const INTERNAL_LB = loadBalancerName(CLUSTER, SERVICE, 'internal');

describe('planLoadBalancer: from nothing', () => {
  it('matches the reviewed golden plan', () => {
    const account = new FakeAccount(environment());
    const p = plan(account);
    assertGolden('create-from-nothing', p);
    // AWS would accept every operation, in this order.
    account.apply(p.operations);
    assert.equal(account.owned.loadBalancers.length, 1);
    assert.equal(account.owned.targetGroups.length, 3);
    assert.equal(account.owned.securityGroups.length, 1);
  });

  it('orders by dependency: group → rules → target groups → attributes → targets → NLB → attributes → listeners → node rules', () => {
    const p = plan(new FakeAccount(environment()));
    const phases = kinds(p).filter((op, index, all) => op !== all[index - 1]);
    assert.deepEqual(phases, [
      'createSecurityGroup',
      'authorizeIngress',
      'createTargetGroup',
      'modifyTargetGroupAttributes',
      'registerTargets',
      'createLoadBalancer',
      'modifyLoadBalancerAttributes',
      'createListener',
      'modifyListenerAttributes',
      'createListener',
      'authorizeIngress',
    ]);
    const groups = p.operations.flatMap((o) => (o.op === 'authorizeIngress' ? [o.group] : []));
    assert.deepEqual(groups, [
      { name: p.operations[0]!.op === 'createSecurityGroup' ? p.operations[0]!.name : '' },
      { id: 'sg-node' },
    ]);
  });
});

describe('planLoadBalancer: steady state', () => {
  it('makes no operation when what exists is what is asked for, provisioning or active', () => {
    const account = new FakeAccount(environment());
    account.apply(plan(account).operations);
    assert.deepEqual(plan(account).operations, [], 'provisioning');
    account.activate();
    const p = plan(account);
    assert.deepEqual(p.operations, [], 'active');
    assert.deepEqual(p.changes, []);
  });

  it('does not care in which order AWS lists things', () => {
    const account = converged();
    for (const lb of account.owned.loadBalancers) {
      lb.listeners.reverse();
      lb.subnetMappings.reverse();
      for (const l of lb.listeners) l.attributes = Object.fromEntries(Object.entries(l.attributes).reverse());
    }
    account.owned.targetGroups.reverse();
    for (const tg of account.owned.targetGroups) tg.targets.reverse();
    for (const g of [...account.owned.securityGroups, ...account.environment.nodeSecurityGroups])
      g.ingress.reverse();
    assert.deepEqual(plan(account).operations, []);
  });

  it('leaves attributes and tags Sluice does not manage alone', () => {
    const account = converged();
    currentLb(account).attributes['ipv6.deny_all_igw_traffic'] = 'true';
    currentLb(account).tags.owner = 'platform-team';
    account.owned.targetGroups[0]!.attributes['target_health_state.unhealthy.draining_interval_seconds'] =
      '0';
    assert.deepEqual(plan(account).operations, []);
  });
});

describe('planLoadBalancer: an annotation changes', () => {
  const base = settings();
  const cases: Array<{
    name: string;
    settings?: Partial<AwsSettings>;
    intent?: Partial<LoadBalancerIntent>;
    expect: (account: FakeAccount) => AwsOperation[];
  }> = [
    {
      name: 'cross-zone load balancing',
      settings: {
        loadBalancerAttributes: {
          ...base.loadBalancerAttributes,
          'load_balancing.cross_zone.enabled': 'true',
        },
      },
      expect: (a) => [
        {
          op: 'modifyLoadBalancerAttributes',
          loadBalancer: { id: currentLb(a).arn },
          attributes: { 'load_balancing.cross_zone.enabled': 'true' },
        },
      ],
    },
    {
      name: 'connection draining timeout (a target group attribute)',
      settings: targetGroupAttributes({ 'deregistration_delay.timeout_seconds': '30' }),
      expect: (a) =>
        [443, 80, 53].map((port) => ({
          op: 'modifyTargetGroupAttributes',
          targetGroup: { id: tgArnOfPort(a, port) },
          attributes: { 'deregistration_delay.timeout_seconds': '30' },
        })),
    },
    {
      name: 'health-check interval (in place)',
      settings: { healthCheck: { ...base.healthCheck, intervalSeconds: 30 } },
      expect: (a) => [
        {
          op: 'modifyTargetGroupHealthCheck',
          targetGroupArn: tgArnOfPort(a, 443),
          healthCheck: { ...base.healthCheck, intervalSeconds: 30 },
        },
        {
          op: 'modifyTargetGroupHealthCheck',
          targetGroupArn: tgArnOfPort(a, 80),
          healthCheck: { ...base.healthCheck, intervalSeconds: 30 },
        },
        {
          op: 'modifyTargetGroupHealthCheck',
          targetGroupArn: tgArnOfPort(a, 53),
          healthCheck: {
            ...base.healthCheck,
            intervalSeconds: 30,
            protocol: 'HTTP',
            port: 10256,
            path: '/healthz',
            successCodes: '200-399',
          },
        },
      ],
    },
    {
      name: 'connection idle timeout (a TCP listener attribute)',
      settings: { tcpListenerAttributes: { 'tcp.idle_timeout.seconds': '600' } },
      expect: (a) => [
        {
          op: 'modifyListenerAttributes',
          listener: { id: listenerArn(a, 80) },
          attributes: { 'tcp.idle_timeout.seconds': '600' },
        },
      ],
    },
    {
      name: 'TLS negotiation policy',
      settings: { tls: { ...base.tls!, policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' } },
      expect: (a) => [
        {
          op: 'modifyListener',
          listenerArn: listenerArn(a, 443),
          protocol: 'TLS',
          targetGroup: { id: tgArnOfPort(a, 443) },
          defaultCertificate: CERT_A,
          sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
          alpnPolicy: 'HTTP2Preferred',
        },
      ],
    },
    {
      name: 'an additional certificate',
      settings: { tls: { ...base.tls!, certificates: [CERT_A, CERT_B, CERT_C] } },
      expect: (a) => [
        { op: 'addListenerCertificates', listener: { id: listenerArn(a, 443) }, certificates: [CERT_C] },
      ],
    },
    {
      name: 'a new default certificate (the old default stays as an additional one)',
      settings: { tls: { ...base.tls!, certificates: [CERT_C, CERT_A] } },
      expect: (a) => [
        {
          op: 'modifyListener',
          listenerArn: listenerArn(a, 443),
          protocol: 'TLS',
          targetGroup: { id: tgArnOfPort(a, 443) },
          defaultCertificate: CERT_C,
          sslPolicy: 'ELBSecurityPolicy-2016-08',
          alpnPolicy: 'HTTP2Preferred',
        },
        { op: 'addListenerCertificates', listener: { id: listenerArn(a, 443) }, certificates: [CERT_A] },
        { op: 'removeListenerCertificates', listenerArn: listenerArn(a, 443), certificates: [CERT_B] },
      ],
    },
    {
      name: 'TLS on one more port',
      settings: { tls: { ...base.tls!, ports: [443, 80] } },
      expect: (a) => [
        {
          op: 'modifyListener',
          listenerArn: listenerArn(a, 80),
          protocol: 'TLS',
          targetGroup: { id: tgArnOfPort(a, 80) },
          defaultCertificate: CERT_A,
          sslPolicy: 'ELBSecurityPolicy-2016-08',
          alpnPolicy: 'HTTP2Preferred',
        },
        { op: 'addListenerCertificates', listener: { id: listenerArn(a, 80) }, certificates: [CERT_B] },
      ],
    },
    {
      name: 'an extra frontend security group',
      settings: { extraSecurityGroups: ['sg-0ops'] },
      expect: (a) => [
        {
          op: 'setSecurityGroups',
          loadBalancerArn: currentLb(a).arn,
          securityGroups: [{ id: a.owned.securityGroups[0]!.id }, { id: 'sg-0ops' }],
        },
      ],
    },
    {
      name: 'subnets named by annotation (Name tag and ID)',
      settings: { subnets: ['public-a', 'subnet-0c1'] },
      expect: (a) => [
        {
          op: 'setSubnets',
          loadBalancerArn: currentLb(a).arn,
          subnetMappings: [{ subnetId: 'subnet-0a1' }, { subnetId: 'subnet-0c1' }],
        },
      ],
    },
    {
      name: 'target node labels that every current target has',
      settings: { targetNodeLabels: { pool: 'web' } },
      expect: () => [],
    },
    {
      name: 'session affinity ClientIP (stickiness, from settings.ts)',
      intent: { sessionAffinity: 'ClientIP' },
      settings: targetGroupAttributes({ 'stickiness.enabled': 'true' }),
      expect: (a) =>
        [443, 80, 53].map((port) => ({
          op: 'modifyTargetGroupAttributes',
          targetGroup: { id: tgArnOfPort(a, port) },
          attributes: { 'stickiness.enabled': 'true' },
        })),
    },
  ];
  for (const c of cases) {
    it(`${c.name}: just the operations it needs, then nothing`, () => {
      const account = converged();
      account.addUserGroup('sg-0ops', 'sg-0ops');
      const i = intent(c.intent);
      const s = settings(c.settings);
      const p = plan(account, i, s);
      assert.deepEqual(p.operations, c.expect(account));
      account.apply(p.operations);
      assert.deepEqual(plan(account, i, s).operations, []);
    });
  }

  it('source ranges: new rules on the frontend and node groups first, the old ones revoked last', () => {
    const account = converged();
    const s = settings({ sourceRanges: ['198.51.100.0/24'] });
    const p = plan(account, intent({ sourceRanges: ['198.51.100.0/24'] }), s);
    assert.deepEqual(kinds(p), ['authorizeIngress', 'authorizeIngress', 'revokeIngress', 'revokeIngress']);
    const cidrs = (o: AwsOperation) =>
      'rules' in o ? [...new Set(o.rules.map((r: SecurityGroupRule) => r.cidr))] : [];
    assert.deepEqual(p.operations.map(cidrs), [
      ['198.51.100.0/24'],
      ['198.51.100.0/24'],
      ['203.0.113.0/24'],
      ['203.0.113.0/24'],
    ]);
    const [frontendAdd, nodeAdd, frontendRevoke, nodeRevoke] = p.operations as Array<
      Extract<AwsOperation, { rules: SecurityGroupRule[] }>
    >;
    assert.equal(frontendAdd!.rules.length, 4, 'three listener ports and ICMP');
    assert.equal(nodeAdd!.rules.length, 4, 'three NodePorts and ICMP; the health rules do not change');
    assert.equal(frontendRevoke!.rules.length, 4);
    assert.equal(nodeRevoke!.rules.length, 4);
    assert.deepEqual((nodeRevoke as Extract<AwsOperation, { op: 'revokeIngress' }>).groupId, 'sg-node');
    account.apply(p.operations);
    assert.deepEqual(plan(account, intent(), s).operations, []);
    assert.ok(
      nodeGroup(account).ingress.some((r) => r.description === 'ssh from the VPC'),
      "the user's own rule stays",
    );
  });

  it('additional tags: added everywhere, and a key no longer asked for is removed (removal resets)', () => {
    const account = converged();
    const more = settings({ additionalTags: { team: 'storefront', cost: 'a1' } });
    const added = plan(account, intent(), more);
    assert.equal(added.operations.length, 8, 'security group, 3 target groups, load balancer, 3 listeners');
    for (const o of added.operations) {
      assert.deepEqual(o, {
        op: 'addTags',
        arn: (o as Extract<AwsOperation, { op: 'addTags' }>).arn,
        tags: { cost: 'a1', [ADDITIONAL_TAG_KEYS_TAG]: 'cost,team' },
      });
    }
    account.apply(added.operations);
    assert.deepEqual(plan(account, intent(), more).operations, []);

    const fewer = settings({ additionalTags: { cost: 'a1' } });
    const removed = plan(account, intent(), fewer);
    assert.deepEqual(
      [
        ...new Set(
          removed.operations.map((o) =>
            JSON.stringify(o.op === 'addTags' ? o.tags : o.op === 'removeTags' ? o.keys : o),
          ),
        ),
      ],
      [JSON.stringify({ [ADDITIONAL_TAG_KEYS_TAG]: 'cost' }), JSON.stringify(['team'])],
    );
    account.apply(removed.operations);
    assert.equal(currentLb(account).tags.team, undefined);
    assert.deepEqual(plan(account, intent(), fewer).operations, []);

    const none = settings({ additionalTags: {} });
    const cleared = plan(account, intent(), none);
    assert.ok(cleared.operations.every((o) => o.op === 'removeTags'));
    account.apply(cleared.operations);
    assert.deepEqual(
      Object.keys(currentLb(account).tags).filter(
        (k) => !k.startsWith('sluice.dev/') && !k.startsWith('kubernetes.io/'),
      ),
      [],
    );
    assert.equal(currentLb(account).tags[ADDITIONAL_TAG_KEYS_TAG], undefined);
  });

  it('the user’s own security groups: set on the NLB, and the managed group deleted after', () => {
    const account = converged();
    account.addUserGroup('edge-sg', 'sg-0edge');
    const managed = account.owned.securityGroups[0]!.id;
    const s = settings({ securityGroups: ['edge-sg'] });
    const p = plan(account, intent(), s);
    assert.deepEqual(p.operations, [
      {
        op: 'setSecurityGroups',
        loadBalancerArn: currentLb(account).arn,
        securityGroups: [{ id: 'sg-0edge' }],
      },
      { op: 'deleteSecurityGroup', groupId: managed },
    ]);
    account.apply(p.operations);
    assert.deepEqual(plan(account, intent(), s).operations, []);
    // And back: the managed group is made again and put on the NLB in place.
    const back = plan(account);
    assert.deepEqual(kinds(back), ['createSecurityGroup', 'authorizeIngress', 'setSecurityGroups']);
    account.apply(back.operations);
    assert.deepEqual(plan(account).operations, []);
  });

  it('dualstack: the IP address type changes in place', () => {
    const env = environment();
    for (const s of env.subnets) s.ipv6Cidrs = [`2600:1f18:${s.id.slice(-3)}::/64`];
    const account = new FakeAccount(env);
    converge(account);
    const s = settings({ ipAddressType: 'dualstack' });
    const p = plan(account, intent(), s);
    assert.deepEqual(p.operations, [
      { op: 'setIpAddressType', loadBalancerArn: currentLb(account).arn, ipAddressType: 'dualstack' },
    ]);
  });

  it('removing annotations returns every setting to its default', () => {
    const custom = settings({
      loadBalancerAttributes: {
        'access_logs.s3.enabled': 'true',
        'access_logs.s3.bucket': 'logs',
        'access_logs.s3.prefix': 'nlb',
        'deletion_protection.enabled': 'false',
        'load_balancing.cross_zone.enabled': 'true',
      },
      ...targetGroupAttributes({
        'proxy_protocol_v2.enabled': 'true',
        'deregistration_delay.timeout_seconds': '30',
      }),
      tcpListenerAttributes: { 'tcp.idle_timeout.seconds': '900' },
      healthCheck: { ...settings().healthCheck, intervalSeconds: 30, healthyThreshold: 5 },
      tls: { ...settings().tls!, policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06', alpnPolicy: 'HTTP2Only' },
    });
    const account = converged(intent(), custom);
    const defaults = settings({ tls: { ...settings().tls!, alpnPolicy: undefined } });
    const p = plan(account, intent(), defaults);
    const lbAttributes = p.operations.find((o) => o.op === 'modifyLoadBalancerAttributes');
    assert.deepEqual(lbAttributes && 'attributes' in lbAttributes ? lbAttributes.attributes : undefined, {
      'access_logs.s3.enabled': 'false',
      'load_balancing.cross_zone.enabled': 'false',
    });
    const tgAttributes = p.operations.filter((o) => o.op === 'modifyTargetGroupAttributes');
    assert.equal(tgAttributes.length, 3);
    for (const o of tgAttributes) {
      assert.deepEqual('attributes' in o && o.attributes, {
        'deregistration_delay.timeout_seconds': '300',
        'proxy_protocol_v2.enabled': 'false',
      });
    }
    assert.equal(p.operations.filter((o) => o.op === 'modifyTargetGroupHealthCheck').length, 3);
    assert.deepEqual(
      p.operations
        .filter((o) => o.op === 'modifyListenerAttributes')
        .map((o) => 'attributes' in o && o.attributes),
      [{ 'tcp.idle_timeout.seconds': '350' }],
    );
    const tls = p.operations.find((o) => o.op === 'modifyListener');
    assert.equal(tls && 'sslPolicy' in tls && tls.sslPolicy, 'ELBSecurityPolicy-2016-08');
    assert.equal(tls && 'alpnPolicy' in tls && tls.alpnPolicy, 'None');
    account.apply(p.operations);
    assert.deepEqual(plan(account, intent(), defaults).operations, []);
  });
});

describe('planLoadBalancer: replacements', () => {
  it('scheme change: a new NLB with its own target groups and listeners first; the old one goes once the new one is active', () => {
    const account = converged();
    const old = currentLb(account);
    const oldTargetGroups = account.owned.targetGroups.map((tg) => tg.arn).sort();
    const internal = settings({ scheme: 'internal' });
    const i = intent({ internal: true });

    const start = plan(account, i, internal);
    assert.equal(start.loadBalancerName, INTERNAL_LB);
    // An NLB target group serves one load balancer: the new one gets its own, so it can serve at once.
    assert.deepEqual(kinds(start), [
      'createTargetGroup',
      'createTargetGroup',
      'createTargetGroup',
      'modifyTargetGroupAttributes',
      'modifyTargetGroupAttributes',
      'modifyTargetGroupAttributes',
      'registerTargets',
      'registerTargets',
      'registerTargets',
      'createLoadBalancer',
      'modifyLoadBalancerAttributes',
      'createListener',
      'createListener',
      'modifyListenerAttributes',
      'createListener',
    ]);
    const create = start.operations.find((o) => o.op === 'createLoadBalancer') as Extract<
      AwsOperation,
      { op: 'createLoadBalancer' }
    >;
    assert.deepEqual(
      create.subnetMappings.map((m) => m.subnetId),
      ['subnet-1a1', 'subnet-1b1'],
    );
    assert.deepEqual(create.securityGroups, [{ id: account.owned.securityGroups[0]!.id }]);
    assert.ok(
      start.operations.every((o) => o.op !== 'createListener' || 'name' in o.targetGroup),
      'the new listeners forward to the new target groups',
    );
    assert.deepEqual(start.changes, [
      {
        reason: 'ReplacingLoadBalancer',
        message: `the scheme changes from internet-facing to internal: creating load balancer ${INTERNAL_LB}; ${LB} is deleted once ${INTERNAL_LB} is active (the Service's hostname changes)`,
      },
    ]);
    account.apply(start.operations);

    // Provisioning: the old NLB keeps serving, nothing to do.
    assert.deepEqual(plan(account, i, internal).operations, []);

    account.activate();
    const finish = plan(account, i, internal);
    assert.deepEqual(kinds(finish), [
      'deleteLoadBalancer',
      'deleteTargetGroup',
      'deleteTargetGroup',
      'deleteTargetGroup',
      'revokeIngress',
      'authorizeIngress',
    ]);
    assert.deepEqual(finish.operations[0], { op: 'deleteLoadBalancer', loadBalancerArn: old.arn });
    assert.deepEqual(
      finish.operations
        .filter((o) => o.op === 'deleteTargetGroup')
        .map((o) => (o as { targetGroupArn: string }).targetGroupArn)
        .sort(),
      oldTargetGroups,
    );
    const revoked = finish.operations[4] as Extract<AwsOperation, { op: 'revokeIngress' }>;
    const reowned = finish.operations[5] as Extract<AwsOperation, { op: 'authorizeIngress' }>;
    assert.ok(revoked.rules.every((r) => r.description.endsWith(`=${LB}`)));
    assert.ok(reowned.rules.every((r) => r.description.endsWith(`=${INTERNAL_LB}`)));
    assert.equal(revoked.rules.length, reowned.rules.length);
    assert.deepEqual(finish.changes, [
      {
        reason: 'ReplacingLoadBalancer',
        message: `${INTERNAL_LB} is active: deleting load balancer ${LB} (the scheme changes from internet-facing to internal)`,
      },
    ]);
    account.apply(finish.operations);
    assert.deepEqual(plan(account, i, internal).operations, []);
    assert.deepEqual(
      account.owned.loadBalancers.map((lb) => lb.name),
      [INTERNAL_LB],
    );
    assert.ok(
      account.owned.targetGroups.every((tg) => !oldTargetGroups.includes(tg.arn)),
      'only the new target groups are left',
    );
    assert.ok(
      !nodeGroup(account).ingress.some((r) => r.description.includes(LB)),
      'no rule names the old NLB',
    );
  });

  it('custom name change: replaced the same way, the message names the annotation', () => {
    const account = converged();
    const named = settings({ name: 'storefront-edge' });
    const p = plan(account, intent(), named);
    assert.match(p.changes[0]!.message, new RegExp(`^the name changes from ${LB} to storefront-edge: `));
    const plans = converge(account, intent(), named);
    assert.ok(plans.length >= 3);
    assert.deepEqual(
      account.owned.loadBalancers.map((lb) => lb.name),
      ['storefront-edge'],
    );
  });

  it('an extra copy of the NLB (same name) is deleted, the active one kept', () => {
    const account = converged();
    const copy = clone(currentLb(account));
    copy.arn = `${copy.arn}-copy`;
    copy.state = 'provisioning';
    copy.listeners = [];
    account.owned.loadBalancers.push(copy);
    const p = plan(account);
    assert.deepEqual(p.operations, [{ op: 'deleteLoadBalancer', loadBalancerArn: copy.arn }]);
    assert.equal(p.changes[0]?.reason, 'ReplacingLoadBalancer');
  });

  const replaceTargetGroups = (
    name: string,
    change: Partial<AwsSettings>,
    ports: number[],
    because: RegExp,
    i: LoadBalancerIntent = intent(),
  ) =>
    it(`${name}: new target group, targets, listener moved, old group deleted last`, () => {
      const account = converged();
      const old = new Map(ports.map((port) => [port, tgArnOfPort(account, port)]));
      const s = settings(change);
      const p = plan(account, i, s);
      const creates = p.operations.filter((o) => o.op === 'createTargetGroup');
      assert.equal(creates.length, ports.length);
      for (const port of ports) {
        const modify = indexOf(
          p,
          (o) => o.op === 'modifyListener' && o.listenerArn === listenerArn(account, port),
        );
        const remove = indexOf(p, (o) => o.op === 'deleteTargetGroup' && o.targetGroupArn === old.get(port));
        assert.ok(
          modify >= 0 && remove > modify,
          `port ${port}: the listener moves before the old group goes`,
        );
        assert.ok(indexOf(p, (o) => o.op === 'registerTargets') < modify, 'targets registered first');
      }
      assert.equal(p.changes.length, ports.length);
      for (const change of p.changes) {
        assert.equal(change.reason, 'ReplacingTargetGroup');
        assert.match(change.message, because);
      }
      account.apply(p.operations);
      assert.deepEqual(plan(account, i, s).operations, []);
      assert.equal(account.owned.targetGroups.length, 3);
    });

  replaceTargetGroups(
    'target type instance → ip',
    {
      targetType: 'ip',
      targetGroupAttributes: { ...settings().targetGroupAttributes, 'preserve_client_ip.enabled': 'false' },
    },
    [443, 80, 53],
    /target type instance → ip, port 30[0-9]+ → [0-9]+/,
  );
  replaceTargetGroups(
    'backend protocol ssl (TCP → TLS target group)',
    { tls: { ...settings().tls!, backendTls: true } },
    [443],
    /^port 443: protocol TCP → TLS, which a target group cannot change in place/,
  );
  replaceTargetGroups(
    'health-check protocol TCP → HTTP',
    { healthCheck: { ...settings().healthCheck, protocol: 'HTTP', path: '/ready' } },
    [443, 80],
    /health-check protocol TCP → HTTP/,
  );
  replaceTargetGroups(
    'NodePort change',
    {},
    [80],
    /port 30080 → 30081/,
    intent({
      ports: intent().ports.map((p) => (p.port === 80 ? { ...p, nodePort: 30081 } : p)),
    }),
  );

  it('target type instance → ip: the node rules follow the Pod ports', () => {
    const account = converged();
    const s = settings({ targetType: 'ip' });
    converge(account, intent(), s);
    const ports = new Set(
      nodeGroup(account)
        .ingress.filter((r) => r.description.startsWith('kubernetes.io/rule/nlb/client='))
        .map((r) => r.fromPort),
    );
    assert.deepEqual([...ports].sort(), [5353, 8080, 8443]);
  });

  it('a removed port: its listener deleted, then its target group', () => {
    const account = converged();
    const i = intent({ ports: intent().ports.filter((p) => p.port !== 53) });
    const p = plan(account, i);
    const tg = tgArnOfPort(account, 53);
    assert.deepEqual(
      p.operations.filter((o) => o.op.startsWith('delete')),
      [
        { op: 'deleteListener', listenerArn: listenerArn(account, 53) },
        { op: 'deleteTargetGroup', targetGroupArn: tg },
      ],
    );
    account.apply(p.operations);
    assert.deepEqual(plan(account, i).operations, []);
    assert.ok(!nodeGroup(account).ingress.some((r) => r.fromPort === 30053 || r.fromPort === 10256));
  });
});

describe('planLoadBalancer: nodes', () => {
  it('a node added: only registrations', () => {
    const account = converged();
    account.environment.instances.push({
      nodeName: 'node-d',
      instanceId: 'i-0ddd',
      vpcId: 'vpc-1',
      securityGroupIds: ['sg-node'],
    });
    const i = intent({ nodes: [...intent().nodes, node('node-d')] });
    const p = plan(account, i);
    assert.deepEqual(kinds(p), ['registerTargets', 'registerTargets', 'registerTargets']);
    assert.deepEqual(
      p.operations.map((o) => ('targets' in o ? o.targets : [])),
      [[{ id: 'i-0ddd', port: 30443 }], [{ id: 'i-0ddd', port: 30080 }], [{ id: 'i-0ddd', port: 30053 }]],
    );
  });

  it('a node removed (or excluded from load balancers): only deregistrations', () => {
    const account = converged();
    const i = intent({ nodes: intent().nodes.filter((n) => n.name !== 'node-b') });
    const p = plan(account, i);
    assert.deepEqual(kinds(p), ['deregisterTargets', 'deregisterTargets', 'deregisterTargets']);
    assert.deepEqual(
      p.operations.map((o) => ('targets' in o ? o.targets.map((t) => t.id) : [])),
      [['i-0bbb'], ['i-0bbb'], ['i-0bbb']],
    );
  });

  it('target node labels exclude a node: only deregistrations', () => {
    const account = converged();
    const i = intent({ nodes: [node('node-a', { pool: 'web' }), node('node-b', { pool: 'batch' })] });
    const p = plan(account, i, settings({ targetNodeLabels: { pool: 'web' } }));
    assert.deepEqual(kinds(p), ['deregisterTargets', 'deregisterTargets', 'deregisterTargets']);
  });

  it('registers and deregisters in batches of at most 100', () => {
    const env = environment();
    const many = Array.from({ length: 250 }, (_, n) => `node-${String(n).padStart(3, '0')}`);
    env.instances = many.map((name, n) => ({
      nodeName: name,
      instanceId: `i-${String(n).padStart(4, '0')}`,
      vpcId: 'vpc-1',
      securityGroupIds: ['sg-node'],
    }));
    const account = new FakeAccount(env);
    const i = intent({ nodes: many.map((name) => node(name)) });
    const p = plan(account, i);
    const sizes = p.operations.flatMap((o) => (o.op === 'registerTargets' ? [o.targets.length] : []));
    assert.deepEqual(sizes, [100, 100, 50, 100, 100, 50, 100, 100, 50]);
    account.apply(p.operations);
    const fewer = plan(account, intent({ nodes: [] }));
    assert.deepEqual(
      fewer.operations.flatMap((o) => (o.op === 'deregisterTargets' ? [o.targets.length] : [])),
      [100, 100, 50, 100, 100, 50, 100, 100, 50],
    );
  });
});

describe('planLoadBalancer: drift is repaired', () => {
  it('puts back what was changed by hand, then makes no operation', () => {
    const account = converged();
    const lb = currentLb(account);
    // Someone in the console:
    lb.listeners = lb.listeners.filter((l) => l.port !== 80); // deleted a listener
    lb.attributes['load_balancing.cross_zone.enabled'] = 'true'; // flipped an attribute
    lb.securityGroups = ['sg-0rogue']; // swapped the security groups
    const https = lb.listeners.find((l) => l.port === 443)!;
    https.sslPolicy = 'ELBSecurityPolicy-TLS-1-0-2015-04'; // weakened the TLS policy
    https.certificates = [CERT_A]; // dropped the additional certificate
    const udp = account.owned.targetGroups.find((tg) => tg.port === 30053)!;
    udp.targets = udp.targets.filter((t) => t.id !== 'i-0aaa'); // deregistered a node
    udp.targets.push({ id: 'i-0zzz', port: 30053 }); // registered a stranger
    udp.healthCheck.timeoutSeconds = 2; // changed the health check
    udp.attributes['proxy_protocol_v2.enabled'] = 'true';
    delete udp.tags.team; // removed a tag
    const frontend = account.owned.securityGroups[0]!;
    frontend.ingress.push({
      protocol: 'tcp',
      fromPort: 0,
      toPort: 65535,
      cidr: '0.0.0.0/0',
      description: 'debug',
    });
    const node = nodeGroup(account);
    node.ingress = node.ingress.filter((r) => r.fromPort !== 30443 || !r.description.includes('client'));

    const p = plan(account);
    assert.deepEqual(kinds(p), [
      'modifyTargetGroupHealthCheck',
      'modifyTargetGroupAttributes',
      'registerTargets',
      'deregisterTargets',
      'setSecurityGroups',
      'modifyLoadBalancerAttributes',
      'modifyListener',
      'addListenerCertificates',
      'createListener',
      'modifyListenerAttributes',
      'authorizeIngress',
      'addTags',
      'revokeIngress',
    ]);
    const revoke = p.operations.at(-1) as Extract<AwsOperation, { op: 'revokeIngress' }>;
    assert.deepEqual(revoke, { op: 'revokeIngress', groupId: frontend.id, rules: [frontend.ingress.at(-1)] });
    account.apply(p.operations);
    assert.deepEqual(plan(account).operations, []);
  });

  it('a listener pointed elsewhere is pointed back', () => {
    const account = converged();
    const lb = currentLb(account);
    lb.listeners.find((l) => l.port === 80)!.targetGroupArn = tgArnOfPort(account, 53);
    const p = plan(account);
    assert.deepEqual(p.operations, [
      {
        op: 'modifyListener',
        listenerArn: listenerArn(account, 80),
        protocol: 'TCP',
        targetGroup: { id: tgArnOfPort(account, 80) },
      },
    ]);
    assert.deepEqual(p.changes, [], 'a repair, not a replacement');
  });
});

describe('planLoadBalancer: only what Sluice owns', () => {
  function withForeign(account: FakeAccount) {
    const foreignLb: ObservedLoadBalancer = {
      ...clone(currentLb(account)),
      arn: 'arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/staging-web/ffff',
      name: 'staging-web',
      tags: { 'sluice.dev/cluster': 'staging', 'sluice.dev/service-uid': SERVICE.uid },
      listeners: [],
    };
    const foreignTg = {
      ...clone(account.owned.targetGroups[0]!),
      arn: 'arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/other-svc/eeee',
      name: 'other-svc',
      tags: { 'sluice.dev/cluster': CLUSTER, 'sluice.dev/service-uid': 'another-uid' },
      loadBalancerArns: [],
    };
    const untaggedSg = { id: 'sg-0untagged', name: 'hand-made', vpcId: 'vpc-1', tags: {}, ingress: [] };
    account.owned.loadBalancers.push(foreignLb);
    account.owned.targetGroups.push(foreignTg);
    account.owned.securityGroups.push(untaggedSg);
    nodeGroup(account).ingress.push(
      {
        protocol: 'tcp',
        fromPort: 31000,
        toPort: 31000,
        cidr: '0.0.0.0/0',
        description: nodeRuleDescription('client', 'sl-other-service-0123456789'),
      },
      // Another Service's rule with the very tuple this one wants: present, so not added, and not ours.
      {
        protocol: 'icmp',
        fromPort: 3,
        toPort: 4,
        cidr: '203.0.113.0/24',
        description: nodeRuleDescription('mtu', 'sl-other-service-0123456789'),
      },
    );
    return ['staging-web', 'other-svc', 'sg-0untagged', 'sl-other-service-0123456789', 'ffff', 'eeee'];
  }

  it('never names a resource tagged for another cluster or Service, or untagged, or another NLB’s rule', () => {
    const account = new FakeAccount(environment());
    const foreign = withForeign(account);
    const plans = [
      plan(account),
      plan(account, intent(), settings({ scheme: 'internal' })),
      plan(account, intent(), settings({ targetType: 'ip' })),
    ];
    account.apply(plans[0]!.operations);
    account.activate();
    plans.push(
      plan(account, intent({ ports: [] })),
      plan(account, intent(), settings({ scheme: 'internal' })),
    );
    const removal = planRemoval(account.owned, account.environment.nodeSecurityGroups, CLUSTER, SERVICE);
    for (const text of [...plans.map((p) => JSON.stringify(p.operations)), JSON.stringify(removal)]) {
      for (const name of foreign) assert.ok(!text.includes(name), `${name} in ${text.slice(0, 200)}…`);
    }
    const nodeRules = plans[0]!.operations.find(
      (o) => o.op === 'authorizeIngress' && 'id' in o.group && o.group.id === 'sg-node',
    ) as Extract<AwsOperation, { op: 'authorizeIngress' }>;
    assert.ok(
      !nodeRules.rules.some((r) => r.protocol === 'icmp'),
      'the ICMP rule exists already (another NLB’s)',
    );
  });

  it('without the Service, the removal plan still keeps to this cluster', () => {
    const account = converged();
    const foreign = withForeign(account);
    const text = JSON.stringify(planRemoval(account.owned, account.environment.nodeSecurityGroups, CLUSTER));
    for (const name of foreign.filter((n) => n !== 'other-svc' && n !== 'eeee'))
      assert.ok(!text.includes(name), name);
  });
});

describe('planRemoval', () => {
  it('deletes load balancers, then their node rules, then target groups, then the managed security group', () => {
    const account = converged();
    const lb = currentLb(account);
    const ops = planRemoval(account.owned, account.environment.nodeSecurityGroups, CLUSTER, SERVICE);
    assert.deepEqual(
      ops.map((o) => o.op),
      [
        'deleteLoadBalancer',
        'revokeIngress',
        'deleteTargetGroup',
        'deleteTargetGroup',
        'deleteTargetGroup',
        'deleteSecurityGroup',
      ],
    );
    assert.deepEqual(ops[0], { op: 'deleteLoadBalancer', loadBalancerArn: lb.arn });
    const revoke = ops[1] as Extract<AwsOperation, { op: 'revokeIngress' }>;
    assert.equal(revoke.groupId, 'sg-node');
    assert.equal(revoke.rules.length, 7);
    assert.ok(revoke.rules.every((r) => r.description.endsWith(`=${LB}`)));
    account.apply(ops);
    assert.deepEqual(account.owned, { loadBalancers: [], targetGroups: [], securityGroups: [] });
    assert.deepEqual(
      nodeGroup(account).ingress.map((r) => r.description),
      ['ssh from the VPC'],
    );
    assert.deepEqual(
      planRemoval(account.owned, account.environment.nodeSecurityGroups, CLUSTER, SERVICE),
      [],
    );
  });

  it('turns deletion protection off before deleting (else the delete fails on every pass)', () => {
    const protectedLb = settings({
      loadBalancerAttributes: { ...settings().loadBalancerAttributes, 'deletion_protection.enabled': 'true' },
    });
    const account = converged(intent(), protectedLb);
    const lb = currentLb(account);
    const ops = planRemoval(account.owned, account.environment.nodeSecurityGroups, CLUSTER, SERVICE);
    assert.deepEqual(ops.slice(0, 2), [
      {
        op: 'modifyLoadBalancerAttributes',
        loadBalancer: { id: lb.arn },
        attributes: { 'deletion_protection.enabled': 'false' },
      },
      { op: 'deleteLoadBalancer', loadBalancerArn: lb.arn },
    ]);
    // A replaced one likewise.
    const internal = settings({ ...protectedLb, scheme: 'internal' });
    account.apply(plan(account, intent(), internal).operations);
    account.activate();
    const finish = plan(account, intent(), internal);
    assert.deepEqual(kinds(finish).slice(0, 2), ['modifyLoadBalancerAttributes', 'deleteLoadBalancer']);
    account.apply(finish.operations);
    assert.deepEqual(plan(account, intent(), internal).operations, []);
    account.apply(planRemoval(account.owned, account.environment.nodeSecurityGroups, CLUSTER, SERVICE));
    assert.deepEqual(account.owned.loadBalancers, []);
  });

  it('during a replacement: both load balancers and the rules of both', () => {
    const account = converged();
    const internal = settings({ scheme: 'internal' });
    account.apply(plan(account, intent({ internal: true }), internal).operations);
    const ops = planRemoval(account.owned, account.environment.nodeSecurityGroups, CLUSTER, SERVICE);
    assert.deepEqual(
      ops.slice(0, 2).map((o) => o.op),
      ['deleteLoadBalancer', 'deleteLoadBalancer'],
    );
    account.apply(ops);
    assert.deepEqual(account.owned, { loadBalancers: [], targetGroups: [], securityGroups: [] });
  });

  it('after an interrupted removal, finds the rules of a load balancer already gone', () => {
    const account = converged();
    account.apply([{ op: 'deleteLoadBalancer', loadBalancerArn: currentLb(account).arn }]);
    const ops = planRemoval(account.owned, account.environment.nodeSecurityGroups, CLUSTER, SERVICE);
    assert.deepEqual(
      ops.map((o) => o.op),
      ['revokeIngress', 'deleteTargetGroup', 'deleteTargetGroup', 'deleteTargetGroup', 'deleteSecurityGroup'],
    );
    account.apply(ops);
    assert.deepEqual(
      nodeGroup(account).ingress.map((r) => r.description),
      ['ssh from the VPC'],
    );
  });
});

describe('planLoadBalancer: failures and notices', () => {
  it('a failure plans no operation and says why', () => {
    const account = converged();
    const p = plan(account, intent(), settings({ subnets: ['subnet-nope'] }));
    assert.deepEqual(p.operations, []);
    assert.equal(p.failure?.reason, 'InvalidAnnotation');
    assert.match(p.failure!.message, /subnet-nope/);
    assert.equal(p.loadBalancerName, LB);
  });

  it('a node without an instance is named in a notice, and planning goes on', () => {
    const p = plan(new FakeAccount(environment()));
    assert.deepEqual(
      p.notices.map((n) => n.reason),
      ['NodesWithoutInstance'],
    );
    assert.match(p.notices[0]!.message, /node-c/);
  });

  it('an EIP change on an existing subnet is reported, not attempted', () => {
    const account = converged();
    const p = plan(account, intent(), settings({ eipAllocations: ['eipalloc-1', 'eipalloc-2'] }));
    assert.deepEqual(p.operations, []);
    assert.deepEqual(p.notices.filter((n) => n.reason === 'ImmutableSetting').length, 2);
  });
});
