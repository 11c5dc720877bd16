// The operation tracker's record of when a Service last saw one of its operations finish: what its
// next listing must be newer than (see ClusterInventory). A stand-in client answers each operation's status.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ComputeClient } from '../../src/providers/gcp/client.ts';
import { OperationTracker } from '../../src/providers/gcp/operations.ts';

const statuses = new Map<string, string>();
const client = {
  operation: async (_project: string, ref: { name: string }) => ({
    name: ref.name,
    scope: { kind: 'global' },
    status: statuses.get(ref.name) ?? 'RUNNING',
  }),
} as unknown as ComputeClient;
const op = (name: string) => ({
  name,
  scope: { kind: 'global' as const },
  target: `firewall ${name} insert`,
});

describe('OperationTracker', () => {
  it('settledAt: the time one of the Service’s operations was seen finished; kept until forgotten', async () => {
    let now = 1_000;
    const tracker = new OperationTracker(() => now);
    assert.equal((await tracker.check(client, 'p', 'uid-a')).settledAt, 0, 'nothing seen finish yet');
    tracker.remember('uid-a', op('op-1'));
    tracker.remember('uid-a', op('op-2'));
    now = 2_000;
    let seen = await tracker.check(client, 'p', 'uid-a');
    assert.deepEqual([seen.running.length, seen.settledAt], [2, 0], 'both still running');
    statuses.set('op-1', 'DONE');
    now = 3_000;
    seen = await tracker.check(client, 'p', 'uid-a');
    assert.deepEqual([seen.running.map((o) => o.name), seen.settledAt], [['op-2'], 3_000]);
    now = 4_000;
    seen = await tracker.check(client, 'p', 'uid-a');
    assert.equal(seen.settledAt, 3_000, 'nothing else finished: the same time');
    statuses.set('op-2', 'DONE');
    now = 5_000;
    seen = await tracker.check(client, 'p', 'uid-a');
    assert.deepEqual([seen.running.length, seen.settledAt], [0, 5_000]);
    assert.equal((await tracker.check(client, 'p', 'uid-b')).settledAt, 0, 'per Service');
    tracker.forget('uid-a');
    assert.equal((await tracker.check(client, 'p', 'uid-a')).settledAt, 0);
  });
});
