import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, passFollowUp } from '../../src/speaker/pass-policy.ts';

const outcome = (failed: string[] = [], postponed: string[] = []) => ({
  failed: new Map(failed.map((a) => [a, 'Cannot find device "eth0"'])),
  postponed: new Set(postponed),
});

describe('after a pass', () => {
  it('a pass that took everything it won is done', () => {
    assert.deepEqual(passFollowUp(outcome(), true, 0), { done: true, retry: false });
  });
  it('a failed take is not remembered as done, and is tried again', () => {
    assert.deepEqual(passFollowUp(outcome(['192.0.2.5']), true, 0), { done: false, retry: true });
    assert.deepEqual(passFollowUp(outcome(['192.0.2.5']), false, 0), { done: false, retry: true });
  });
  it('a take postponed while a lifetime could be given is tried again; without one, the next renewal does it', () => {
    assert.deepEqual(passFollowUp(outcome([], ['192.0.2.5']), true, 0), { done: false, retry: true });
    assert.deepEqual(passFollowUp(outcome([], ['192.0.2.5']), false, 0), { done: true, retry: false });
  });
  it('a handover still waiting is not done (its own timer asks for the next pass)', () => {
    assert.deepEqual(passFollowUp(outcome(), true, 1), { done: false, retry: false });
  });
  it('retries back off by doubling up to a limit, and start over after success', () => {
    const b = new Backoff(500, 3000);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [500, 1000, 2000, 3000, 3000]);
    b.reset();
    assert.equal(b.next(), 500);
  });
});
