import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { L2AnnouncementObject } from '../../src/speaker/announcement-status.ts';
import type { AnnounceOutcome } from '../../src/speaker/announcer.ts';
import type { ServiceFacts } from '../../src/speaker/cluster-facts.ts';
import type { AddressDecision, Decision } from '../../src/speaker/election.ts';
import { type StatusInput, StatusWriter } from '../../src/speaker/status-writer.ts';

const X = '192.0.2.5';
const Y6 = '2001:db8::5';
const web: ServiceFacts = {
  key: 'ns/web',
  namespace: 'ns',
  name: 'web',
  uid: 'u1',
  addresses: [X],
  trafficPolicy: 'Cluster',
};

/** A StatusWriter for node `me` over an in-memory store shared by every node's writer. */
function cluster() {
  const store = new Map<string, L2AnnouncementObject>();
  const events: string[] = [];
  let version = 0;
  const save = ({ body }: { body: L2AnnouncementObject }) => {
    const saved = { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } };
    store.set(`${body.metadata?.namespace}/${body.metadata?.name}`, saved);
    return Promise.resolve(saved);
  };
  const api = {
    createNamespacedCustomObject: save,
    replaceNamespacedCustomObject: save,
    deleteNamespacedCustomObject: async () => ({}),
  };
  const writer = (me: string) => {
    const recorder = {
      record: (_t: unknown, type: string, reason: string, _a: string, note: string) =>
        events.push(`${me}: ${type} ${reason} ${note}`),
    };
    return new StatusWriter(api as never, recorder as never, me, pino({ level: 'silent' }), {
      onWrite: () => {},
      retry: () => {},
      current: (key) => store.get(key),
    });
  };
  return { store, events, writer };
}

const elected = (address: string, node: string): AddressDecision => ({
  kind: 'elected',
  family: address.includes(':') ? 'IPv6' : 'IPv4',
  address,
  node,
  interfaces: ['eth0'],
});
const none = (address: string, reason: string): AddressDecision => ({
  kind: 'noCandidate',
  family: 'IPv4',
  address,
  reason,
});

function input(
  store: Map<string, L2AnnouncementObject>,
  addresses: AddressDecision[],
  outcome: Partial<AnnounceOutcome> = {},
  service = web,
): StatusInput {
  const decision: Decision = { kind: 'advertised', addresses };
  return {
    decisions: new Map([[service.key, { service, decision }]]),
    outcome: { announced: new Map(), failed: new Map(), postponed: new Set(), ...outcome },
    selfFresh: true,
    fresh: ['a', 'b'],
    existing: [...store.values()],
  };
}
const flush = () => new Promise((resolve) => setTimeout(resolve, 10));
const holding = (...addresses: string[]) => ({ announced: new Map(addresses.map((a) => [a, ['eth0']])) });

describe('StatusWriter', () => {
  it('records nodeAssigned again when a node wins an address back (A → B → A)', async () => {
    const { store, events, writer } = cluster();
    const a = writer('a');
    const b = writer('b');
    a.update(input(store, [elected(X, 'a')], holding(X)));
    await flush();
    a.update(input(store, [elected(X, 'a')], holding(X))); // the cache shows A's write
    await flush();
    // B wins: A sees it (and drops the address); B announces and writes.
    a.update(input(store, [elected(X, 'b')]));
    b.update(input(store, [elected(X, 'b')], holding(X)));
    await flush();
    // A wins it back.
    a.update(input(store, [elected(X, 'a')], holding(X)));
    await flush();
    assert.deepEqual(
      events.filter((e) => e.includes('nodeAssigned')),
      [
        'a: Normal nodeAssigned announcing 192.0.2.5 from node a on eth0',
        'b: Normal nodeAssigned announcing 192.0.2.5 from node b on eth0',
        'a: Normal nodeAssigned announcing 192.0.2.5 from node a on eth0',
      ],
    );
    assert.equal((store.get('ns/web')?.status as { node?: string } | undefined)?.node, 'a');
  });

  it('a restarted speaker that the object already shows announcing says nothing', async () => {
    const { store, events, writer } = cluster();
    writer('a').update(input(store, [elected(X, 'a')], holding(X)));
    await flush();
    const restarted = writer('a');
    restarted.update(input(store, [elected(X, 'a')], holding(X)));
    await flush();
    assert.equal(events.filter((e) => e.includes('nodeAssigned')).length, 1);
  });

  it('records announceFailed again after no candidate → elected → no candidate', async () => {
    const { store, events, writer } = cluster();
    const a = writer('a');
    const stuck = none(X, 'b: not Ready');
    a.update(input(store, [stuck]));
    await flush();
    a.update(input(store, [stuck]));
    await flush();
    a.update(input(store, [elected(X, 'a')], holding(X)));
    await flush();
    a.update(input(store, [stuck]));
    await flush();
    assert.deepEqual(
      events.filter((e) => e.includes('announceFailed')),
      [
        'a: Warning announceFailed no node can announce 192.0.2.5: b: not Ready',
        'a: Warning announceFailed no node can announce 192.0.2.5: b: not Ready',
      ],
    );
  });

  it('shows each address of a Service with its own node; one node writes the object', async () => {
    const { store, events, writer } = cluster();
    const dual = { ...web, addresses: [X, Y6] };
    const decided = [elected(X, 'a'), elected(Y6, 'b')];
    writer('b').update(input(store, decided, holding(Y6), dual));
    await flush();
    assert.equal(store.size, 0, 'the winner of the first address writes, not b');
    writer('a').update(input(store, decided, holding(X), dual));
    await flush();
    assert.deepEqual(store.get('ns/web')?.status, {
      node: 'a,b',
      addresses: [X, Y6],
      interfaces: ['eth0'],
      byAddress: [
        { address: X, node: 'a', interfaces: ['eth0'] },
        { address: Y6, node: 'b', interfaces: ['eth0'] },
      ],
    });
    assert.deepEqual(events, [
      `b: Normal nodeAssigned announcing ${Y6} from node b on eth0`,
      `a: Normal nodeAssigned announcing ${X} from node a on eth0`,
    ]);
  });

  it('waits to write while an address of its own is neither announced nor failed yet', async () => {
    const { store, writer } = cluster();
    writer('a').update(input(store, [elected(X, 'a')], { postponed: new Set([X]) }));
    await flush();
    assert.equal(store.size, 0);
    writer('a').update(
      input(store, [elected(X, 'a')], { failed: new Map([[X, 'Cannot find device "eth0"']]) }),
    );
    await flush();
    assert.deepEqual(store.get('ns/web')?.status, {
      node: '',
      addresses: [X],
      interfaces: [],
      message: 'node a could not announce 192.0.2.5: Cannot find device "eth0"',
      byAddress: [
        {
          address: X,
          node: '',
          interfaces: [],
          message: 'node a could not announce 192.0.2.5: Cannot find device "eth0"',
        },
      ],
    });
  });
});
