import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type HeldAddress,
  type KernelAnnouncement,
  planAnnouncements,
  type WantedAddress,
} from '../../src/speaker/announcement-plan.ts';

const want = (address: string, interfaces: string[], service = 'ns/web'): WantedAddress => ({
  family: address.includes(':') ? 'IPv6' : 'IPv4',
  address,
  interfaces,
  service,
});
const onKernel = (address: string, iface: string): KernelAnnouncement => ({
  interface: iface,
  family: address.includes(':') ? 'IPv6' : 'IPv4',
  address,
});
const held = (...list: HeldAddress[]): Map<string, HeldAddress> => new Map(list.map((h) => [h.address, h]));
const place = (address: string, iface: string) => ({
  family: address.includes(':') ? ('IPv6' as const) : ('IPv4' as const),
  address,
  interface: iface,
});

describe('planAnnouncements', () => {
  it('takes and announces a newly won address', () => {
    const plan = planAnnouncements([want('198.51.100.200', ['eth0'])], held(), []);
    assert.deepEqual(plan.take, [place('198.51.100.200', 'eth0')]);
    assert.deepEqual(
      plan.announce.map((a) => [a.address, a.why]),
      [['198.51.100.200', 'new']],
    );
    assert.deepEqual([plan.release, plan.withdraw, plan.stale], [[], [], []]);
  });

  it('does nothing at steady state', () => {
    const w = want('198.51.100.200', ['eth0']);
    const plan = planAnnouncements([w], held(w), [onKernel('198.51.100.200', 'eth0')]);
    assert.deepEqual(plan, { take: [], release: [], announce: [], withdraw: [], stale: [] });
  });

  it('withdraws and removes an address this node no longer wins', () => {
    const w = want('198.51.100.200', ['eth0']);
    const plan = planAnnouncements([], held(w), [onKernel('198.51.100.200', 'eth0')]);
    assert.deepEqual(plan.release, [place('198.51.100.200', 'eth0')]);
    assert.deepEqual(plan.withdraw, [w]);
    assert.deepEqual([plan.take, plan.announce, plan.stale], [[], [], []]);
  });

  it('withdraws an address the kernel already dropped (lifetime ran out) without removing anything', () => {
    const w = want('198.51.100.200', ['eth0']);
    const plan = planAnnouncements([], held(w), []);
    assert.deepEqual(plan.withdraw, [w]);
    assert.deepEqual(plan.release, []);
  });

  it('puts back, and announces again, an address missing from the kernel', () => {
    const w = want('2001:db8:51::200', ['eth0']);
    const plan = planAnnouncements([w], held(w), []);
    assert.deepEqual(plan.take, [place('2001:db8:51::200', 'eth0')]);
    assert.deepEqual(
      plan.announce.map((a) => a.why),
      ['was missing from the kernel'],
    );
  });

  it('removes announcement addresses it never held (an earlier run’s) and reports them as stale', () => {
    const w = want('198.51.100.200', ['eth0']);
    const plan = planAnnouncements([w], held(w), [
      onKernel('198.51.100.200', 'eth0'),
      onKernel('198.51.100.201', 'eth0'),
      onKernel('2001:db8:51::201', 'eth1'),
    ]);
    assert.deepEqual(plan.release, [place('198.51.100.201', 'eth0'), place('2001:db8:51::201', 'eth1')]);
    assert.deepEqual(plan.stale, plan.release);
    assert.deepEqual(plan.withdraw, []);
  });

  it('keeps an address this run wins even when an earlier run left it (no blip on restart)', () => {
    const plan = planAnnouncements([want('198.51.100.200', ['eth0'])], held(), [
      onKernel('198.51.100.200', 'eth0'),
    ]);
    assert.deepEqual(plan.take, []);
    assert.deepEqual(plan.release, []);
    // Still announced: this run has not told the neighbours yet.
    assert.deepEqual(
      plan.announce.map((a) => a.why),
      ['new'],
    );
  });

  it('moves an address between interfaces: removes the old one, adds the new one, announces', () => {
    const before = want('198.51.100.200', ['eth0']);
    const after = want('198.51.100.200', ['eth1']);
    const plan = planAnnouncements([after], held(before), [onKernel('198.51.100.200', 'eth0')]);
    assert.deepEqual(plan.release, [place('198.51.100.200', 'eth0')]);
    assert.deepEqual(plan.take, [place('198.51.100.200', 'eth1')]);
    assert.deepEqual(
      plan.announce.map((a) => a.why),
      ['interfaces changed'],
    );
    assert.deepEqual(plan.withdraw, []);
    assert.deepEqual(plan.stale, []);
  });

  it('without a kernel snapshot, trusts what it holds: nothing unknown is removed, nothing re-added', () => {
    const w = want('198.51.100.200', ['eth0']);
    assert.deepEqual(planAnnouncements([w], held(w), undefined), {
      take: [],
      release: [],
      announce: [],
      withdraw: [],
      stale: [],
    });
    const gone = planAnnouncements([], held(w), undefined);
    assert.deepEqual(gone.release, [place('198.51.100.200', 'eth0')]);
    assert.deepEqual(gone.withdraw, [w]);
  });
});
