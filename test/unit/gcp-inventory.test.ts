// The shared listing's freshness rule, with a hand-driven stand-in for the Compute clients (the real
// SDK against the simulator is in test/providers/gcp-provider.test.ts): a caller never gets a listing
// that started before what it must see (by default: before it asked), nor one older than the maximum
// age; callers who ask while one runs share it when it is new enough, otherwise the next one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ComputeClient } from '../../src/providers/gcp/client.ts';
import {
  ClusterInventory,
  clusterNameFilter,
  DEFAULT_LISTING_MAX_AGE_MS,
} from '../../src/providers/gcp/inventory.ts';
import type { GcpConfig } from '../../src/providers/gcp/model.ts';
import { clusterPrefix } from '../../src/providers/gcp/names.ts';

const CONFIG: GcpConfig = {
  project: 'p',
  region: 'r',
  network: 'default',
  subnetwork: 'default',
  cluster: 'kube',
  nodeTags: [],
};

/** Listings that finish only when the test says so; each one answers with its own number. */
class ListingsByHand {
  started = 0;
  readonly #finish: Array<() => void> = [];
  readonly filters: string[] = [];

  finishNext(): void {
    this.#finish.shift()?.();
  }

  client(): ComputeClient {
    const listing = (request: { filter?: string }) => {
      this.filters.push(String(request.filter));
      return this.#items();
    };
    const fake = {
      call: <T>(_api: string, send: () => Promise<T>) => send(),
      addresses: { listAsync: listing },
      healthChecks: { listAsync: listing },
      backendServices: { listAsync: listing },
      forwardingRules: { listAsync: listing },
      firewalls: { listAsync: listing },
      instanceGroups: { aggregatedListAsync: async function* () {} },
    };
    return fake as unknown as ComputeClient;
  }

  // One listing = five kinds; the addresses listing (the first) decides when the round ends.
  async *#items(): AsyncIterable<{ name: string }> {
    const round = Math.floor(this.started++ / 5) + 1;
    if (this.started % 5 === 1) await new Promise<void>((resolve) => this.#finish.push(resolve));
    yield { name: `listing-${round}` };
  }
}

const roundOf = (listing: { addresses: Array<{ name?: string | null }> }) => listing.addresses[0]?.name;

describe('ClusterInventory', () => {
  it('lists only the cluster’s names, in the filter syntax Compute documents for regular expressions', () => {
    assert.equal(clusterNameFilter('kube'), `name eq "${clusterPrefix('kube')}-.*"`);
  });

  it('callers during a listing share the next one; none gets a listing that started before it asked', {
    timeout: 5_000,
  }, async () => {
    const hand = new ListingsByHand();
    const inventory = new ClusterInventory(hand.client(), CONFIG);
    const first = inventory.read();
    await Promise.resolve();
    const second = inventory.read();
    const third = inventory.read();
    assert.equal(hand.started, 5, 'the second listing waits for the first');
    hand.finishNext();
    assert.equal(roundOf(await first), 'listing-1');
    // Only now does the next listing start, serving both who asked meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(hand.started, 10);
    const fourth = inventory.read();
    hand.finishNext();
    assert.equal(roundOf(await second), 'listing-2');
    assert.equal(roundOf(await third), 'listing-2');
    await new Promise((resolve) => setImmediate(resolve));
    hand.finishNext();
    assert.equal(roundOf(await fourth), 'listing-3', 'asked during listing 2: gets listing 3');
    assert.equal(hand.started, 15);
    assert.ok(hand.filters.every((f) => f === clusterNameFilter('kube')));
  });

  it('reuses a recent listing that started after what the caller must see; never an older one', {
    timeout: 5_000,
  }, async () => {
    const hand = new ListingsByHand();
    let now = 10_000;
    const inventory = new ClusterInventory(hand.client(), CONFIG, { now: () => now });
    const first = inventory.read(0);
    hand.finishNext();
    assert.equal(roundOf(await first), 'listing-1');
    assert.equal(hand.started, 5);

    now += 500;
    assert.equal(
      roundOf(await inventory.read(9_000)),
      'listing-1',
      'its operations finished before listing 1 began',
    );
    assert.equal(hand.started, 5, 'no new listing');

    // Saw an operation finish after listing 1 began: a new listing, joined by whoever needs no newer.
    const second = inventory.read(10_200);
    await Promise.resolve();
    assert.equal(hand.started, 10);
    const joining = inventory.read(10_400);
    now += 100;
    const later = inventory.read(now);
    assert.equal(hand.started, 10, 'the later caller waits for the next listing');
    hand.finishNext();
    assert.equal(roundOf(await second), 'listing-2');
    assert.equal(roundOf(await joining), 'listing-2');
    await new Promise((resolve) => setImmediate(resolve));
    hand.finishNext();
    assert.equal(roundOf(await later), 'listing-3');

    // Older than the maximum age: listed again, even for a caller that has seen nothing finish.
    now += DEFAULT_LISTING_MAX_AGE_MS + 1;
    const stale = inventory.read(0);
    await Promise.resolve();
    assert.equal(hand.started, 20);
    hand.finishNext();
    assert.equal(roundOf(await stale), 'listing-4');
  });

  it('a listing that began in the very millisecond the caller’s operation finished is not enough', {
    timeout: 5_000,
  }, async () => {
    const hand = new ListingsByHand();
    const now = 10_000;
    const inventory = new ClusterInventory(hand.client(), CONFIG, { now: () => now });
    const first = inventory.read(0);
    await Promise.resolve();
    const joining = inventory.read(now);
    hand.finishNext();
    assert.equal(roundOf(await first), 'listing-1');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(hand.started, 10, 'not joined: a listing of its own');
    hand.finishNext();
    assert.equal(roundOf(await joining), 'listing-2');
    const reuse = inventory.read(now);
    await Promise.resolve();
    assert.equal(hand.started, 15, 'not reused either');
    hand.finishNext();
    assert.equal(roundOf(await reuse), 'listing-3');
  });

  it('a failed listing fails its callers; the next caller starts a new one', async () => {
    let fail = true;
    const fake = {
      call: <T>(_api: string, send: () => Promise<T>) => send(),
      addresses: {
        listAsync: async function* () {
          if (fail) throw new Error('boom');
          yield { name: 'a' };
        },
      },
      healthChecks: { listAsync: async function* () {} },
      backendServices: { listAsync: async function* () {} },
      forwardingRules: { listAsync: async function* () {} },
      firewalls: { listAsync: async function* () {} },
      instanceGroups: { aggregatedListAsync: async function* () {} },
    } as unknown as ComputeClient;
    const inventory = new ClusterInventory(fake, CONFIG);
    await assert.rejects(inventory.read(), /boom/);
    fail = false;
    assert.equal(roundOf(await inventory.read()), 'a');
  });
});
