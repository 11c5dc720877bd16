// Nodes → instances by zone, and the client firewall's port entries (at most 100 per rule).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TargetNode } from '../../src/intent/types.ts';
import { nodeInstances } from '../../src/providers/gcp/nodes.ts';
import { firewallPorts } from '../../src/providers/gcp/ports.ts';

const node = (name: string, providerID?: string): TargetNode => ({
  name,
  labels: {},
  internalAddresses: [],
  ...(providerID !== undefined ? { providerID } : {}),
});

describe('nodeInstances', () => {
  const cases: Array<[string, TargetNode[], Record<string, string[]>, RegExp[]]> = [
    ['no nodes', [], {}, []],
    ['one node', [node('a', 'gce://p/r1-a/vm-a')], { 'r1-a': ['projects/p/zones/r1-a/instances/vm-a'] }, []],
    [
      'zones and instances sorted, whatever the nodes’ order',
      [node('c', 'gce://p/r1-b/vm-c'), node('b', 'gce://p/r1-a/vm-b'), node('a', 'gce://p/r1-a/vm-a')],
      {
        'r1-a': ['projects/p/zones/r1-a/instances/vm-a', 'projects/p/zones/r1-a/instances/vm-b'],
        'r1-b': ['projects/p/zones/r1-b/instances/vm-c'],
      },
      [],
    ],
    [
      'two nodes naming the same instance: it is listed once',
      [node('a', 'gce://p/r1-a/vm-a'), node('a-again', 'gce://p/r1-a/vm-a')],
      { 'r1-a': ['projects/p/zones/r1-a/instances/vm-a'] },
      [],
    ],
    [
      'another project',
      [node('x', 'gce://other/r1-a/vm-x')],
      {},
      [/^x: its instance is in project other, not p$/],
    ],
    [
      'another cloud, no providerID, a malformed one',
      [node('aws', 'aws:///us-east-1a/i-1'), node('none'), node('short', 'gce://p/vm-only')],
      {},
      [/^aws: providerID "aws:\/\/\/us-east-1a\/i-1" is not gce:/, /^none: providerID ""/, /^short: /],
    ],
    [
      'a zone of another region (a regional backend service cannot use it)',
      [node('far', 'gce://p/r2-a/vm-far'), node('near', 'gce://p/r1-c/vm-near')],
      { 'r1-c': ['projects/p/zones/r1-c/instances/vm-near'] },
      [/^far: its zone r2-a is not in region r1$/],
    ],
  ];
  for (const [what, nodes, byZone, skipped] of cases) {
    it(what, () => {
      const result = nodeInstances(nodes, 'p', 'r1');
      assert.deepEqual(result.byZone, byZone);
      assert.equal(result.skipped.length, skipped.length, result.skipped.join('\n'));
      skipped.forEach((pattern, i) => {
        assert.match(result.skipped[i]!, pattern);
      });
    });
  }

  it('without a region every zone counts', () => {
    assert.deepEqual(Object.keys(nodeInstances([node('far', 'gce://p/r2-a/vm')], 'p').byZone), ['r2-a']);
  });
});

describe('firewallPorts', () => {
  const range = (from: number, count: number, step = 1) =>
    Array.from({ length: count }, (_, i) => from + i * step);

  it('up to 100 entries: every port on its own, sorted, once', () => {
    const { allowed, widened } = firewallPorts({ TCP: [443, 80, 80], UDP: [53] });
    assert.deepEqual(allowed, { TCP: ['80', '443'], UDP: ['53'] });
    assert.deepEqual(widened, []);
  });

  it('exactly 100 entries over both protocols stay single ports', () => {
    const { allowed } = firewallPorts({ TCP: range(1000, 60, 2), UDP: range(5000, 40, 2) });
    assert.equal(allowed.TCP.length + allowed.UDP.length, 100);
    assert.ok(allowed.TCP.every((p) => !p.includes('-')));
  });

  it('more: contiguous ports become ranges, nothing else is opened', () => {
    const { allowed, widened } = firewallPorts({ TCP: [...range(8000, 150), 9000], UDP: [53, 54] });
    assert.deepEqual(allowed, { TCP: ['8000-8149', '9000'], UDP: ['53-54'] });
    assert.deepEqual(widened, []);
  });

  it('still more than 100 ranges: the closest are joined and the ports between them reported', () => {
    // 100 TCP ports two apart and a UDP pair four apart: 102 entries, two joins at the narrowest gaps
    // (one port each; TCP first, lowest first on a tie).
    const { allowed, widened } = firewallPorts({ TCP: range(1000, 100, 2), UDP: [60, 64] });
    assert.equal(allowed.TCP.length + allowed.UDP.length, 100);
    assert.deepEqual(allowed.TCP.slice(0, 2), ['1000-1004', '1006']);
    assert.deepEqual(allowed.UDP, ['60', '64']);
    assert.deepEqual(widened, ['TCP 1001', 'TCP 1003']);
  });

  it('the narrowest gap of either protocol is joined first', () => {
    // 99 TCP ports three apart (gaps of two ports) and a UDP pair with a one-port gap: 101 entries.
    const { allowed, widened } = firewallPorts({ TCP: range(1, 99, 3), UDP: [2000, 2002] });
    assert.deepEqual(widened, ['UDP 2001']);
    assert.deepEqual(allowed.UDP, ['2000-2002']);
    assert.equal(allowed.TCP.length, 99);
  });
});
