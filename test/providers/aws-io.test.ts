// The AWS provider's io against moto through the real SDK: observe on a seeded account finds the
// environment and what Sluice owns, and nothing foreign; apply of a hand-written plan ends in the
// expected moto state (read back with the SDK), again without duplicates; AWS's refusals become
// failures with the message and request ID; removal deletes what Sluice made and nothing else.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateSecurityGroupCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { LoadBalancerIntent, ServiceRef, TargetNode } from '../../src/intent/types.ts';
import { applyPlan, applyRemoval } from '../../src/providers/aws/apply.ts';
import type { AwsOperation } from '../../src/providers/aws/model.ts';
import { kubernetesClusterTag, TAG } from '../../src/providers/aws/model.ts';
import { instanceIdOf, observe, observeOwned } from '../../src/providers/aws/observe.ts';
import { type SeededAccount, seedAccount, TEST_CREDENTIALS, TEST_REGION } from '../harness/aws-seed.ts';
import { plainIntent } from '../harness/intent-fixture.ts';
import { type Moto, startMoto } from '../harness/moto.ts';
import {
  createEverything,
  frontendRules,
  type IoWorld,
  ioWorld,
  namesFor,
  nodeRules,
  plainSettings,
  readMoto,
} from './aws-support.ts';

const CLUSTER = 'io-test';
const SERVICE: ServiceRef = { namespace: 'shop', name: 'web', uid: '7b1f0c52-0e41-4d0c-9d4c-2f7e5a1c9e01' };

let moto: Moto;
let account: SeededAccount;
let world: IoWorld;
let extraGroupId = '';

const settings = plainSettings;

function intent(nodes: TargetNode[]): LoadBalancerIntent {
  return plainIntent({
    service: SERVICE,
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 },
      { name: 'https', protocol: 'TCP', port: 443, nodePort: 30443 },
    ],
    sourceRanges: ['0.0.0.0/0'],
    nodes,
  });
}

function nodes(): TargetNode[] {
  return [
    ...account.instances.map((i) => ({
      name: i.nodeName,
      providerID: i.providerID,
      labels: {},
      internalAddresses: [i.privateIp],
    })),
    // A node without a providerID and one whose instance is gone: neither has an instance.
    { name: 'bare', labels: {}, internalAddresses: ['10.20.100.99'] },
    { name: 'gone', providerID: 'aws:///us-east-1a/i-0123456789abcdef0', labels: {}, internalAddresses: [] },
  ];
}

/** Resources Sluice must never see as its own: untagged, another cluster's (same Service UID), another Service's. */
async function seedForeign(): Promise<void> {
  const config = { endpoint: moto.endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS };
  const elb = new ElasticLoadBalancingV2Client(config);
  const ec2 = new EC2Client(config);
  const otherCluster = [
    { Key: TAG.cluster, Value: 'other' },
    { Key: TAG.serviceUid, Value: SERVICE.uid },
  ];
  const otherService = [
    { Key: TAG.cluster, Value: CLUSTER },
    { Key: TAG.serviceUid, Value: 'another-uid' },
  ];
  const lb = (Name: string, Tags?: Array<{ Key: string; Value: string }>) =>
    elb.send(
      new CreateLoadBalancerCommand({
        Name,
        Type: 'network',
        Subnets: account.publicSubnets,
        ...(Tags ? { Tags } : {}),
      }),
    );
  const tg = (Name: string, Tags?: Array<{ Key: string; Value: string }>) =>
    elb.send(
      new CreateTargetGroupCommand({
        Name,
        Protocol: 'TCP',
        Port: 31000,
        VpcId: account.vpcId,
        TargetType: 'instance',
        ...(Tags ? { Tags } : {}),
      }),
    );
  await lb('foreign-lb');
  await tg('foreign-tg');
  await lb('other-cluster-lb', otherCluster);
  await tg('other-cluster-tg', otherCluster);
  await lb('other-service-lb', otherService);
  await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: 'other-cluster-sg',
      Description: 'another cluster',
      VpcId: account.vpcId,
      TagSpecifications: [{ ResourceType: 'security-group', Tags: otherCluster }],
    }),
  );
  const extra = await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: 'team-extra-group',
      Description: 'a team group named by annotation',
      VpcId: account.vpcId,
      TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'Name', Value: 'team-extra' }] }],
    }),
  );
  extraGroupId = extra.GroupId ?? '';
}

before(async () => {
  moto = await startMoto();
  account = await seedAccount({ endpoint: moto.endpoint, cluster: CLUSTER, nodeNames: ['node-a', 'node-b'] });
  await seedForeign();
  world = ioWorld(moto.endpoint, CLUSTER);
});

after(async () => {
  await moto?.stop();
});

describe('aws io against moto', () => {
  test('providerIDs name instances', () => {
    assert.equal(instanceIdOf('aws:///us-east-1a/i-0abc123'), 'i-0abc123');
    assert.equal(instanceIdOf('aws://us-east-1a/i-0abc123'), 'i-0abc123');
    assert.equal(instanceIdOf('aws:///us-east-1a/fargate-10.0.0.1'), undefined);
    assert.equal(instanceIdOf('kind://docker/x/y'), undefined);
    assert.equal(instanceIdOf(undefined), undefined);
  });

  test('observe: the environment for each scheme, and nothing owned yet', async () => {
    const observed = await observe(intent(nodes()), settings(), world.observeDeps);
    const env = observed.environment;
    assert.equal(env.vpcId, account.vpcId);
    assert.deepEqual(env.vpcCidrs, ['10.20.0.0/16']);
    assert.deepEqual(
      env.subnets.map((s) => s.id),
      [...account.publicSubnets].sort(),
    );
    for (const subnet of env.subnets) {
      assert.equal(subnet.tags['kubernetes.io/role/elb'], '1');
      assert.equal(subnet.tags[kubernetesClusterTag(CLUSTER)], 'shared');
      assert.match(subnet.cidr, /^10\.20\.[01]\.0\/24$/);
      assert.match(subnet.availabilityZone, /^us-east-1[ab]$/);
    }
    assert.deepEqual(
      env.instances.map((i) => [i.nodeName, i.instanceId, i.securityGroupIds]),
      account.instances.map((i) => [i.nodeName, i.instanceId, [account.nodeSecurityGroup]]),
    );
    assert.deepEqual(
      env.nodeSecurityGroups.map((g) => g.id),
      [account.nodeSecurityGroup],
    );
    assert.deepEqual(env.nodeSecurityGroups[0]?.ingress, [
      { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '10.20.0.0/16', description: 'ssh from the VPC' },
    ]);
    assert.equal(env.nodeSecurityGroups[0]?.tags[kubernetesClusterTag(CLUSTER)], 'owned');
    assert.deepEqual(env.namedSecurityGroups, []);
    // Another cluster's resources carry this Service's UID; another Service's carry this cluster: neither is ours.
    assert.deepEqual(observed.owned, { loadBalancers: [], targetGroups: [], securityGroups: [] });
    assert.ok(world.inventory.size >= 5, 'the inventory indexed every load balancer and target group');

    const internal = await observe(intent(nodes()), settings({ scheme: 'internal' }), world.observeDeps);
    assert.deepEqual(
      internal.environment.subnets.map((s) => s.id),
      [...account.privateSubnets].sort(),
    );
  });

  test('observe: subnets and security groups named by annotation', async () => {
    const observed = await observe(
      intent(nodes()),
      settings({
        subnets: [account.privateSubnets[0] ?? '', 'public-us-east-1b'],
        securityGroups: [account.nodeSecurityGroup],
        extraSecurityGroups: ['team-extra', 'sg-0000000000000000a', 'no-such-name'],
      }),
      world.observeDeps,
    );
    const ids = observed.environment.subnets.map((s) => s.id).sort();
    assert.deepEqual(ids, [account.privateSubnets[0], account.publicSubnets[1]].sort());
    assert.deepEqual(observed.environment.namedSecurityGroups, [
      { ref: account.nodeSecurityGroup, id: account.nodeSecurityGroup },
      { ref: 'team-extra', id: extraGroupId },
      { ref: 'sg-0000000000000000a' },
      { ref: 'no-such-name' },
    ]);
  });

  test('apply: a plan that creates everything ends in that state in moto', async () => {
    const plan = createEverything(CLUSTER, SERVICE, account);
    const names = namesFor(CLUSTER, SERVICE, account);
    const before = await observe(intent(nodes()), settings(), world.observeDeps);
    const result = await applyPlan(plan, before, world.applyDeps);
    assert.equal(result.kind, 'ready', JSON.stringify(result));
    const moto1 = await readMoto(moto.endpoint);
    const lbs = moto1.loadBalancers.filter((lb) => lb.name === names.loadBalancer);
    assert.equal(lbs.length, 1);
    if (result.kind === 'ready') {
      assert.equal(result.ingress.length, 1);
      assert.equal(result.ingress[0]?.hostname, result.ingress[0]?.hostname?.toLowerCase());
      assert.match(result.ingress[0]?.hostname ?? '', new RegExp(`^${names.loadBalancer.toLowerCase()}`));
    }
    assert.equal(lbs[0]?.tags[TAG.serviceUid], SERVICE.uid);
    assert.equal(lbs[0]?.tags.team, 'shop');
    assert.deepEqual(
      moto1.listeners
        .filter((l) => l.loadBalancer === names.loadBalancer)
        .map((l) => [l.port, l.protocol, l.certificates]),
      [
        [80, 'TCP', []],
        [443, 'TLS', [`${account.certificates[0]} (default)`, account.certificates[1]]],
      ],
    );
    for (const [name, port] of [
      [names.tg80, 30080],
      [names.tg443, 30443],
    ] as const) {
      const groups = moto1.targetGroups.filter((tg) => tg.name === name);
      assert.equal(groups.length, 1, name);
      assert.deepEqual(groups[0]?.targets, account.instances.map((i) => `${i.instanceId}:${port}`).sort());
    }
    const frontend = moto1.securityGroups.filter((g) => g.name === names.securityGroup);
    assert.equal(frontend.length, 1);
    assert.equal(frontend[0]?.rules.length, 3);
    const nodeGroup = moto1.securityGroups.find((g) => g.id === account.nodeSecurityGroup);
    assert.equal(nodeGroup?.rules.length, 1 + nodeRules(names.loadBalancer, account.vpcCidr).length);
  });

  test('observe reads what Sluice owns in full', async () => {
    const names = namesFor(CLUSTER, SERVICE, account);
    const observed = await observe(intent(nodes()), settings(), world.observeDeps);
    const { loadBalancers, targetGroups, securityGroups } = observed.owned;
    assert.deepEqual(
      loadBalancers.map((lb) => lb.name),
      [names.loadBalancer],
    );
    const lb = loadBalancers[0];
    assert.ok(lb);
    assert.equal(lb.scheme, 'internet-facing');
    assert.equal(lb.vpcId, account.vpcId);
    assert.deepEqual(lb.subnetMappings.map((m) => m.subnetId).sort(), [...account.publicSubnets].sort());
    assert.deepEqual(lb.securityGroups, [securityGroups[0]?.id]);
    assert.equal(lb.attributes['load_balancing.cross_zone.enabled'], 'true');
    assert.equal(lb.attributes['deletion_protection.enabled'], 'false');
    assert.equal(lb.tags['sluice.dev/additional-tag-keys'], 'team');
    const [tcp, tls] = lb.listeners;
    assert.equal(tcp?.port, 80);
    assert.equal(tcp?.attributes['tcp.idle_timeout.seconds'], '400');
    assert.equal(tcp?.targetGroupArn, targetGroups.find((tg) => tg.name === names.tg80)?.arn);
    assert.equal(tls?.protocol, 'TLS');
    assert.deepEqual(tls?.certificates, account.certificates.slice(0, 2));
    assert.equal(tls?.sslPolicy, 'ELBSecurityPolicy-2016-08');
    assert.equal(tls?.alpnPolicy, 'HTTP2Preferred');
    assert.deepEqual(targetGroups.map((tg) => tg.name).sort(), [names.tg80, names.tg443].sort());
    for (const tg of targetGroups) {
      assert.deepEqual(tg.healthCheck, {
        protocol: 'TCP',
        port: 'traffic-port',
        intervalSeconds: 10,
        timeoutSeconds: 10,
        healthyThreshold: 3,
        unhealthyThreshold: 3,
      });
      assert.equal(tg.attributes['proxy_protocol_v2.enabled'], 'true');
      assert.equal(tg.attributes['deregistration_delay.timeout_seconds'], '30');
      assert.equal(tg.targets.length, account.instances.length);
      assert.deepEqual(tg.loadBalancerArns, [lb.arn]);
      assert.equal(tg.tags[TAG.cluster], CLUSTER);
    }
    assert.equal(securityGroups.length, 1);
    const byKey = (r: { protocol: string; fromPort: number; cidr: string }) =>
      `${r.protocol}${r.fromPort}${r.cidr}`;
    assert.deepEqual(
      [...(securityGroups[0]?.ingress ?? [])].sort((a, b) => byKey(a).localeCompare(byKey(b))),
      frontendRules(names.loadBalancer).sort((a, b) => byKey(a).localeCompare(byKey(b))),
    );
  });

  test('applying the same plan again duplicates nothing', async () => {
    const before = await readMoto(moto.endpoint);
    const observed = await observe(intent(nodes()), settings(), world.observeDeps);
    const result = await applyPlan(createEverything(CLUSTER, SERVICE, account), observed, world.applyDeps);
    assert.equal(result.kind, 'ready', JSON.stringify(result));
    // And from an empty observation (a restart that has not indexed anything yet): found by name.
    const blind = await applyPlan(
      createEverything(CLUSTER, SERVICE, account),
      {
        environment: observed.environment,
        owned: { loadBalancers: [], targetGroups: [], securityGroups: [] },
      },
      world.applyDeps,
    );
    assert.equal(blind.kind, 'ready', JSON.stringify(blind));
    const afterwards = await readMoto(moto.endpoint);
    assert.equal(afterwards.loadBalancers.length, before.loadBalancers.length);
    assert.equal(afterwards.targetGroups.length, before.targetGroups.length);
    assert.equal(afterwards.securityGroups.length, before.securityGroups.length);
    assert.deepEqual(afterwards.listeners, before.listeners);
    assert.deepEqual(afterwards.securityGroups, before.securityGroups);
  });

  test('an AWS refusal fails the plan with the message and the request ID', async () => {
    const names = namesFor(CLUSTER, SERVICE, account);
    const observed = await observe(intent(nodes()), settings(), world.observeDeps);
    const missing = 'arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000';
    const result = await applyPlan(
      {
        operations: [
          {
            op: 'createListener',
            loadBalancer: { name: names.loadBalancer },
            port: 8443,
            protocol: 'TLS',
            targetGroup: { name: names.tg443 },
            certificates: [missing],
            sslPolicy: 'ELBSecurityPolicy-2016-08',
            tags: {},
          },
        ],
        loadBalancerName: names.loadBalancer,
        changes: [],
        notices: [],
      },
      observed,
      world.applyDeps,
    );
    assert.equal(result.kind, 'failed');
    if (result.kind !== 'failed') return;
    assert.equal(result.reason, 'CertificateNotFound');
    const requestId = /request ID (\S+)\)/.exec(result.message)?.[1];
    assert.ok(requestId, result.message);
    assert.match(result.message, /port 8443/);
    assert.ok(
      world.logs.some((l) => l.requestId === requestId && l.api === 'CreateListener'),
      'the failure is logged with its request ID',
    );
    const listeners = (await readMoto(moto.endpoint)).listeners.filter(
      (l) => l.loadBalancer === names.loadBalancer,
    );
    assert.deepEqual(
      listeners.map((l) => l.port),
      [80, 443],
    );
  });

  test("a load balancer name that is not this Service's is a conflict, and nothing is created", async () => {
    const plan = createEverything(CLUSTER, SERVICE, account);
    const operations = plan.operations.map(
      (op): AwsOperation => (op.op === 'createLoadBalancer' ? { ...op, name: 'foreign-lb' } : op),
    );
    const observed = await observe(intent(nodes()), settings(), world.observeDeps);
    const result = await applyPlan(
      {
        ...plan,
        operations: operations.filter((op) => op.op === 'createLoadBalancer'),
        loadBalancerName: 'foreign-lb',
      },
      observed,
      world.applyDeps,
    );
    assert.equal(result.kind, 'failed');
    assert.equal(result.kind === 'failed' ? result.reason : '', 'NameConflict');
    assert.equal(
      (await readMoto(moto.endpoint)).loadBalancers.filter((lb) => lb.name === 'foreign-lb').length,
      1,
    );
  });

  test('a target group a listener still uses: removal waits instead of giving up', async () => {
    const names = namesFor(CLUSTER, SERVICE, account);
    const observed = await observe(intent(nodes()), settings(), world.observeDeps);
    const tg = observed.owned.targetGroups.find((g) => g.name === names.tg80);
    assert.ok(tg);
    const result = await applyRemoval([{ op: 'deleteTargetGroup', targetGroupArn: tg.arn }], world.applyDeps);
    assert.equal(result.kind, 'pending');
    if (result.kind === 'pending') {
      assert.match(result.message, /ResourceInUse/);
      assert.match(result.message, /request ID/);
      assert.ok(result.retryAfterMs > 0);
    }
    assert.equal((await readMoto(moto.endpoint)).targetGroups.filter((g) => g.name === names.tg80).length, 1);
  });

  test('removal deletes what Sluice made, revokes its rules, and leaves everything else', async () => {
    const names = namesFor(CLUSTER, SERVICE, account);
    const before = await readMoto(moto.endpoint);
    const observed = await observeOwned(SERVICE, world.observeDeps);
    const nodeGroup = observed.environment.nodeSecurityGroups.find((g) => g.id === account.nodeSecurityGroup);
    assert.ok(nodeGroup, 'the nodes group is found without an intent');
    const ours = nodeGroup.ingress.filter((r) => r.description.endsWith(`=${names.loadBalancer}`));
    assert.equal(ours.length, nodeRules(names.loadBalancer, account.vpcCidr).length);
    const operations: AwsOperation[] = [
      { op: 'revokeIngress', groupId: nodeGroup.id, rules: ours },
      ...observed.owned.loadBalancers.map(
        (lb): AwsOperation => ({ op: 'deleteLoadBalancer', loadBalancerArn: lb.arn }),
      ),
      ...observed.owned.targetGroups.map(
        (tg): AwsOperation => ({ op: 'deleteTargetGroup', targetGroupArn: tg.arn }),
      ),
      ...observed.owned.securityGroups.map(
        (sg): AwsOperation => ({ op: 'deleteSecurityGroup', groupId: sg.id }),
      ),
    ];
    assert.deepEqual(await applyRemoval(operations, world.applyDeps, observed), {
      kind: 'gone',
      released: [],
    });
    // Again: everything is gone already, which is success.
    assert.deepEqual(await applyRemoval(operations, world.applyDeps, observed), {
      kind: 'gone',
      released: [],
    });

    const afterwards = await readMoto(moto.endpoint);
    const mine = (tags: Record<string, string>) =>
      tags[TAG.cluster] === CLUSTER && tags[TAG.serviceUid] === SERVICE.uid;
    assert.deepEqual(
      afterwards.loadBalancers.filter((lb) => mine(lb.tags)),
      [],
    );
    assert.deepEqual(
      afterwards.targetGroups.filter((tg) => mine(tg.tags)),
      [],
    );
    assert.deepEqual(
      afterwards.securityGroups.filter((sg) => mine(sg.tags)),
      [],
    );
    assert.deepEqual(afterwards.securityGroups.find((g) => g.id === account.nodeSecurityGroup)?.rules, [
      'tcp 22-22 10.20.0.0/16 ssh from the VPC',
    ]);
    const others = (c: typeof before) => [
      ...c.loadBalancers.filter((lb) => !mine(lb.tags)).map((lb) => lb.arn),
      ...c.targetGroups.filter((tg) => !mine(tg.tags)).map((tg) => tg.arn),
      ...c.securityGroups
        .filter((sg) => !mine(sg.tags) && sg.id !== account.nodeSecurityGroup)
        .map((sg) => sg.id),
    ];
    assert.deepEqual(others(afterwards).sort(), others(before).sort());
    assert.ok(afterwards.loadBalancers.some((lb) => lb.name === 'foreign-lb'));
    const owned = await observeOwned(SERVICE, world.observeDeps);
    assert.deepEqual(owned.owned, { loadBalancers: [], targetGroups: [], securityGroups: [] });
  });
});
