import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import {
  HeartbeatView,
  INTERFACES_ANNOTATION,
  leaseName,
  nodeOfLease,
  parseInterfacesAnnotation,
} from '../../src/speaker/heartbeat-view.ts';

function lease(
  node: string,
  renewTime: string,
  over: { holder?: string; duration?: number; interfaces?: string } = {},
): V1Lease {
  return {
    metadata: {
      name: leaseName(node),
      namespace: 'sluice-system',
      annotations: {
        [INTERFACES_ANNOTATION]: over.interfaces ?? '[{"name":"eth0","prefixes":["198.51.100.11/24"]}]',
      },
    },
    spec: {
      holderIdentity: over.holder ?? node,
      leaseDurationSeconds: over.duration ?? 6,
      renewTime: new V1MicroTime(renewTime),
    },
  };
}

describe('HeartbeatView: freshness on the observer’s clock', () => {
  it('counts a heartbeat fresh for its duration after the change was SEEN, whatever its renewTime says', () => {
    const view = new HeartbeatView();
    // The writer's clock is an hour behind ours: irrelevant.
    view.observe(lease('n1', '2020-01-01T00:00:00Z'), 10_000);
    assert.deepEqual([...view.fresh(10_000).keys()], ['n1']);
    assert.deepEqual([...view.fresh(15_999).keys()], ['n1']);
    assert.deepEqual([...view.fresh(16_000).keys()], []);
    assert.equal(view.seenAt('n1'), 10_000);
    assert.equal(view.nextExpiry(12_000), 16_000);
    assert.equal(view.nextExpiry(16_000), undefined);
  });

  it('extends freshness only when the record changes, not when the same record is delivered again', () => {
    const view = new HeartbeatView();
    view.observe(lease('n1', '2026-01-01T00:00:00.000Z'), 0);
    // A relist or a resync delivers the unchanged Lease again: no sign of life.
    view.observe(lease('n1', '2026-01-01T00:00:00.000Z'), 5000);
    assert.equal(view.seenAt('n1'), 0);
    assert.deepEqual([...view.fresh(6000).keys()], []);
    // A renewal (new renewTime, even one millisecond later) is.
    view.observe(lease('n1', '2026-01-01T00:00:00.001Z'), 7000);
    assert.deepEqual([...view.fresh(12_999).keys()], ['n1']);
  });

  it('uses each Lease’s own duration', () => {
    const view = new HeartbeatView();
    view.observe(lease('slow', '2026-01-01T00:00:00Z', { duration: 20 }), 0);
    view.observe(lease('fast', '2026-01-01T00:00:00Z', { duration: 3 }), 0);
    assert.deepEqual([...view.fresh(5000).keys()], ['slow']);
    assert.equal(view.nextExpiry(0), 3000);
  });

  it('drops a Lease that was released, deleted, or speaks for another holder', () => {
    const view = new HeartbeatView();
    view.observe(lease('n1', '2026-01-01T00:00:00Z'), 0);
    view.observe(lease('n2', '2026-01-01T00:00:00Z'), 0);
    view.observe(lease('n3', '2026-01-01T00:00:00Z', { holder: 'someone-else' }), 0);
    assert.deepEqual([...view.fresh(1).keys()].sort(), ['n1', 'n2']);
    view.observe(lease('n1', '2026-01-01T00:00:01Z', { holder: '' }), 1);
    view.forget(lease('n2', '2026-01-01T00:00:00Z'));
    assert.deepEqual([...view.fresh(2).keys()], []);
  });

  it('carries the interfaces each speaker reported', () => {
    const view = new HeartbeatView();
    view.observe(lease('n1', '2026-01-01T00:00:00Z'), 0);
    view.observe(lease('n2', '2026-01-01T00:00:00Z', { interfaces: 'not json' }), 0);
    assert.deepEqual(view.fresh(1).get('n1'), {
      node: 'n1',
      interfaces: [{ name: 'eth0', prefixes: ['198.51.100.11/24'] }],
    });
    assert.deepEqual(view.fresh(1).get('n2'), { node: 'n2', interfaces: [] });
  });
});

describe('heartbeat Lease names and annotations', () => {
  it('maps a Lease to its node only when name and holder agree', () => {
    assert.equal(nodeOfLease(lease('worker-1', '2026-01-01T00:00:00Z')), 'worker-1');
    assert.equal(nodeOfLease(lease('worker-1', '2026-01-01T00:00:00Z', { holder: 'worker-2' })), undefined);
    assert.equal(
      nodeOfLease({ metadata: { name: 'other-lease' }, spec: { holderIdentity: 'other-lease' } }),
      undefined,
    );
    assert.equal(
      nodeOfLease({ metadata: { name: 'sluice-speaker-' }, spec: { holderIdentity: '' } }),
      undefined,
    );
  });

  it('reads the interfaces annotation leniently', () => {
    assert.deepEqual(parseInterfacesAnnotation(undefined), []);
    assert.deepEqual(parseInterfacesAnnotation('{"name":"eth0"}'), []);
    assert.deepEqual(
      parseInterfacesAnnotation(
        JSON.stringify([
          { name: 'eth0', prefixes: ['a/1', 7] },
          { name: 'bad name!' },
          null,
          { name: 'eth1' },
        ]),
      ),
      [
        { name: 'eth0', prefixes: ['a/1'] },
        { name: 'eth1', prefixes: [] },
      ],
    );
  });
});
