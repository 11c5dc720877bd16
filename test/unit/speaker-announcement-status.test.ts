import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  announcementBody,
  nodeAssignedNote,
  ownedBy,
  sameStatus,
  statusOf,
} from '../../src/speaker/announcement-status.ts';
import type { ServiceFacts } from '../../src/speaker/cluster-facts.ts';

const service: ServiceFacts = {
  key: 'shop/web',
  namespace: 'shop',
  name: 'web',
  uid: 'uid-2',
  addresses: ['198.51.100.200'],
  trafficPolicy: 'Cluster',
};
const status = { node: 'worker-1', addresses: ['198.51.100.200', '2001:db8::5'], interfaces: ['eth0'] };

describe('L2Announcement objects', () => {
  it('are named after the Service, owned by it, and carry the status', () => {
    assert.deepEqual(announcementBody(service, status, undefined), {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'L2Announcement',
      metadata: {
        name: 'web',
        namespace: 'shop',
        labels: { 'app.kubernetes.io/managed-by': 'sluice' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-2', controller: true }],
      },
      status: { node: 'worker-1', addresses: ['198.51.100.200', '2001:db8::5'], interfaces: ['eth0'] },
    });
  });

  it('keep what a replace needs (resourceVersion, other labels) and move to a new Service of the same name', () => {
    const existing = {
      metadata: {
        name: 'web',
        namespace: 'shop',
        resourceVersion: '42',
        uid: 'obj-1',
        labels: { team: 'a' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-1' }],
      },
      status: { node: 'worker-2', addresses: [], interfaces: [] },
    };
    assert.equal(ownedBy(existing, service), false);
    const body = announcementBody(
      service,
      { ...status, node: '', message: 'no node can announce' },
      existing,
    );
    assert.equal(body.metadata?.resourceVersion, '42');
    assert.deepEqual(body.metadata?.labels, { team: 'a', 'app.kubernetes.io/managed-by': 'sluice' });
    assert.equal(body.metadata?.ownerReferences?.[0]?.uid, 'uid-2');
    assert.equal(ownedBy(body, service), true);
    assert.deepEqual(body.status, {
      node: '',
      addresses: status.addresses,
      interfaces: ['eth0'],
      message: 'no node can announce',
    });
  });

  it('read a status leniently and compare it field by field', () => {
    assert.equal(statusOf(undefined), undefined);
    assert.equal(statusOf({ status: 'x' }), undefined);
    assert.deepEqual(statusOf({ status: { node: 7, addresses: ['a', 1], message: '' } }), {
      node: '',
      addresses: ['a'],
      interfaces: [],
    });
    assert.equal(sameStatus(status, { ...status }), true);
    assert.equal(sameStatus(status, { ...status, node: 'worker-2' }), false);
    assert.equal(sameStatus(status, { ...status, interfaces: ['eth1'] }), false);
    assert.equal(sameStatus(status, { ...status, addresses: ['198.51.100.200'] }), false);
    assert.equal(sameStatus(status, { ...status, message: 'x' }), false);
    assert.equal(sameStatus(undefined, status), false);
    assert.equal(sameStatus(undefined, undefined), true);
  });

  it('say which node announces what, on which interfaces', () => {
    assert.equal(
      nodeAssignedNote(status),
      'announcing 198.51.100.200, 2001:db8::5 from node worker-1 on eth0',
    );
    assert.equal(
      nodeAssignedNote({ node: 'n', addresses: ['192.0.2.5'], interfaces: ['eth0', 'eth1'] }),
      'announcing 192.0.2.5 from node n on eth0, eth1',
    );
  });
});
