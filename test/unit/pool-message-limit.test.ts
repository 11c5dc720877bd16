import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundText, capMessages, listSome, MESSAGE_LIMIT } from '../../src/providers/pool/message-limit.ts';

describe('message limits', () => {
  it('boundText leaves short text alone and cuts long text with an ellipsis', () => {
    assert.equal(boundText('short'), 'short');
    assert.equal(boundText('x'.repeat(MESSAGE_LIMIT)), 'x'.repeat(MESSAGE_LIMIT));
    const cut = boundText('x'.repeat(MESSAGE_LIMIT + 1));
    assert.equal(cut.length, MESSAGE_LIMIT);
    assert.ok(cut.endsWith('…'));
    assert.equal(boundText('abcdef', 4), 'abc…');
  });

  it('boundText never splits a surrogate pair', () => {
    // '😀' is two UTF-16 units: cutting after 'a' + half of it would leave a lone surrogate.
    assert.equal(boundText('a😀bcdef', 3), 'a…');
    assert.equal(boundText('ab😀cdef', 4), 'ab…');
  });

  it('listSome names the first items and counts the rest', () => {
    assert.equal(listSome([], 'pools'), '');
    assert.equal(listSome(['a', 'b'], 'pools'), 'a, b');
    assert.equal(listSome(['a', 'b', 'c', 'd', 'e'], 'pools'), 'a, b, c, d, e');
    assert.equal(listSome(['a', 'b', 'c', 'd', 'e', 'f', 'g'], 'pools'), 'a, b, c, d, e and 2 more pools');
    assert.equal(listSome(['a', 'b', 'c'], 'pools', 1), 'a and 2 more pools');
  });

  it('capMessages keeps what fits, joined, within the limit, and counts the rest', () => {
    assert.deepEqual(capMessages([], 'problems'), []);
    assert.deepEqual(capMessages(['a', 'b'], 'problems'), ['a', 'b']);
    const many = Array.from({ length: 100 }, (_, i) => `problem ${i} ${'x'.repeat(90)}`);
    const capped = capMessages(many, 'problems');
    assert.ok(capped.join('; ').length <= MESSAGE_LIMIT);
    const shown = capped.length - 1;
    assert.deepEqual(capped.slice(0, shown), many.slice(0, shown));
    assert.equal(capped[shown], `and ${100 - shown} more problems`);
    // Exactly at the limit: nothing is dropped.
    const exact = ['x'.repeat(100), 'y'.repeat(MESSAGE_LIMIT - 102)];
    assert.deepEqual(capMessages(exact, 'problems'), exact);
    // One message too long on its own is cut, the others counted.
    const long = capMessages(['z'.repeat(10 * MESSAGE_LIMIT), 'next'], 'problems');
    assert.ok(long.join('; ').length <= MESSAGE_LIMIT);
    assert.ok(long[0]!.endsWith('…'));
    for (let limit = 40; limit < 200; limit += 7) {
      const out = capMessages(
        Array.from({ length: 30 }, (_, i) => `m${i}`.repeat(i)),
        'problems',
        limit,
      );
      assert.ok(out.join('; ').length <= limit, `limit ${limit}: ${out.join('; ')}`);
    }
  });
});
