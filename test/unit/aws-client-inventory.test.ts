// The ownership index (inventory.ts) over a fake ELBv2: paginated scans, DescribeTags in batches of
// 20 with tags cached per ARN, a batch that names a deleted resource read one by one, our own
// creates/deletes/tag changes kept, and only this cluster's (and Service's) resources returned.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { AwsClient, apiName } from '../../src/providers/aws/client.ts';
import { AwsInventory } from '../../src/providers/aws/inventory.ts';
import type { Clock } from '../../src/providers/aws/rate-limit.ts';

interface FakeElb {
  loadBalancers: Map<string, Record<string, string>>;
  targetGroups: Map<string, Record<string, string>>;
  tagBatches: string[][];
  pages: number;
}

function fakeClock(): Clock & { advance: (ms: number) => void } {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

function notFound(code: string): Error {
  return Object.assign(new Error(code), {
    name: code,
    Code: code,
    $metadata: { httpStatusCode: 400, requestId: 'r' },
  });
}

/** ELBv2's list and tag calls over maps; pages of 3 to exercise the markers. */
function world(elb: FakeElb) {
  const clock = fakeClock();
  const page = (arns: string[], marker: string | undefined) => {
    const start = marker ? Number(marker) : 0;
    elb.pages++;
    return {
      items: arns.slice(start, start + 3),
      next: start + 3 < arns.length ? String(start + 3) : undefined,
    };
  };
  const aws = new AwsClient({
    region: 'us-east-1',
    logger: pino({ level: 'silent' }),
    clock,
    send: async (_service, command) => {
      const input = (command as { input: Record<string, unknown> }).input;
      switch (apiName(command)) {
        case 'DescribeLoadBalancers': {
          const p = page([...elb.loadBalancers.keys()], input.Marker as string | undefined);
          return {
            LoadBalancers: p.items.map((LoadBalancerArn) => ({ LoadBalancerArn })),
            NextMarker: p.next,
            $metadata: {},
          };
        }
        case 'DescribeTargetGroups': {
          const p = page([...elb.targetGroups.keys()], input.Marker as string | undefined);
          return {
            TargetGroups: p.items.map((TargetGroupArn) => ({ TargetGroupArn })),
            NextMarker: p.next,
            $metadata: {},
          };
        }
        case 'DescribeTags': {
          const arns = input.ResourceArns as string[];
          elb.tagBatches.push(arns);
          const known = (arn: string) => elb.loadBalancers.get(arn) ?? elb.targetGroups.get(arn);
          const missing = arns.find((arn) => !known(arn));
          if (missing)
            throw notFound(missing.includes('targetgroup') ? 'TargetGroupNotFound' : 'LoadBalancerNotFound');
          return {
            TagDescriptions: arns.map((ResourceArn) => ({
              ResourceArn,
              Tags: Object.entries(known(ResourceArn) ?? {}).map(([Key, Value]) => ({ Key, Value })),
            })),
            $metadata: {},
          };
        }
        default:
          throw new Error(`unexpected ${apiName(command)}`);
      }
    },
  });
  return {
    aws,
    clock,
    inventory: new AwsInventory({ aws, logger: pino({ level: 'silent' }), clock, tagMaxAgeMs: 60_000 }),
  };
}

const lb = (i: number) => `arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/lb${i}/${i}`;
const tg = (i: number) => `arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg${i}/${i}`;
const ours = (uid: string) => ({ 'sluice.dev/cluster': 'c1', 'sluice.dev/service-uid': uid });

function elbWith(lbs: number, tgs: number): FakeElb {
  const elb: FakeElb = { loadBalancers: new Map(), targetGroups: new Map(), tagBatches: [], pages: 0 };
  for (let i = 0; i < lbs; i++)
    elb.loadBalancers.set(
      lb(i),
      i % 3 === 0
        ? ours(`uid-${i % 2}`)
        : i % 3 === 1
          ? { 'sluice.dev/cluster': 'other', 'sluice.dev/service-uid': 'uid-0' }
          : {},
    );
  for (let i = 0; i < tgs; i++) elb.targetGroups.set(tg(i), ours('uid-0'));
  return elb;
}

describe('AWS inventory', () => {
  test('a paginated scan, tags in batches of at most 20, only this cluster and Service', async () => {
    const elb = elbWith(25, 7);
    const { inventory } = world(elb);
    await inventory.ensureLoaded();
    assert.equal(inventory.size, 32);
    assert.equal(elb.pages, Math.ceil(25 / 3) + Math.ceil(7 / 3));
    assert.deepEqual(
      elb.tagBatches.map((b) => b.length),
      [20, 12],
    );
    const owned = inventory.owned('c1', 'uid-0');
    // lb i is ours when i % 3 === 0, with uid-0 when i is also even: 0, 6, 12, 18, 24.
    assert.deepEqual(owned.loadBalancerArns, [0, 12, 18, 24, 6].map(lb));
    assert.equal(owned.targetGroupArns.length, 7);
    assert.deepEqual(inventory.owned('c1', 'uid-1').loadBalancerArns, [15, 21, 3, 9].map(lb));
    assert.deepEqual(inventory.owned('other-cluster', 'uid-0'), {
      loadBalancerArns: [],
      targetGroupArns: [],
    });
    assert.deepEqual(inventory.ownedByCluster('c1').serviceUids, ['uid-0', 'uid-1']);
  });

  test('tags are read once per ARN until they are old; new ARNs on the next scan', async () => {
    const elb = elbWith(4, 0);
    const { inventory, clock } = world(elb);
    await inventory.refresh();
    elb.loadBalancers.set(lb(99), ours('uid-9'));
    await inventory.refresh();
    assert.deepEqual(elb.tagBatches, [[lb(0), lb(1), lb(2), lb(3)], [lb(99)]]);
    assert.deepEqual(inventory.owned('c1', 'uid-9').loadBalancerArns, [lb(99)]);
    clock.advance(61_000);
    await inventory.refresh();
    assert.equal(elb.tagBatches.at(-1)?.length, 5);
  });

  test('resources gone from the lists leave the index', async () => {
    const elb = elbWith(3, 1);
    const { inventory } = world(elb);
    await inventory.refresh();
    elb.loadBalancers.delete(lb(0));
    elb.targetGroups.delete(tg(0));
    await inventory.refresh();
    assert.deepEqual(inventory.owned('c1', 'uid-0'), { loadBalancerArns: [], targetGroupArns: [] });
  });

  test('a batch naming a resource deleted meanwhile is read one by one', async () => {
    const elb = elbWith(3, 0);
    const { inventory, aws } = world(elb);
    // The lists still show lb1, DescribeTags no longer knows it (deleted between the two calls).
    const original = elb.loadBalancers.get(lb(1));
    let listed = false;
    const send = aws.elbv2.bind(aws);
    Object.assign(aws, {
      elbv2: async (command: object) => {
        const out = await send(command as never);
        if (apiName(command) === 'DescribeLoadBalancers' && !listed) {
          listed = true;
          elb.loadBalancers.delete(lb(1));
        }
        return out;
      },
    });
    await inventory.refresh();
    assert.ok(original);
    assert.deepEqual(
      elb.tagBatches.map((b) => b.length),
      [3, 1, 1, 1],
    );
    assert.equal(inventory.tagsOf(lb(1)), undefined);
    assert.deepEqual(inventory.tagsOf(lb(0)), ours('uid-0'));
  });

  test('a create recorded while a scan lists is not pruned by that scan', async () => {
    const elb = elbWith(2, 0);
    const { inventory, aws } = world(elb);
    await inventory.refresh();
    const send = aws.elbv2.bind(aws);
    Object.assign(aws, {
      elbv2: async (command: object) => {
        const out = await send(command as never);
        // Our create lands after the list of load balancers was read.
        if (apiName(command) === 'DescribeLoadBalancers')
          inventory.recordCreated(lb(50), 'load-balancer', ours('uid-5'));
        return out;
      },
    });
    await inventory.refresh();
    assert.deepEqual(inventory.owned('c1', 'uid-5').loadBalancerArns, [lb(50)]);
  });

  test('our own creates, tag changes and deletes are kept without a scan', async () => {
    const elb = elbWith(0, 0);
    const { inventory } = world(elb);
    await inventory.ensureLoaded();
    inventory.recordCreated(lb(7), 'load-balancer', { ...ours('uid-7'), team: 'a' });
    inventory.recordTags(lb(7), { owner: 'b' }, ['team']);
    assert.deepEqual(inventory.tagsOf(lb(7)), { ...ours('uid-7'), owner: 'b' });
    assert.deepEqual(inventory.owned('c1', 'uid-7').loadBalancerArns, [lb(7)]);
    inventory.recordDeleted(lb(7));
    assert.deepEqual(inventory.owned('c1', 'uid-7').loadBalancerArns, []);
  });

  test('concurrent callers share one scan', async () => {
    const elb = elbWith(5, 0);
    const { inventory } = world(elb);
    await Promise.all([inventory.refresh(), inventory.refresh(), inventory.ensureLoaded()]);
    assert.equal(inventory.scans, 1);
    assert.equal(elb.tagBatches.length, 1);
  });
});
