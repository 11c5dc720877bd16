import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanUp, withCleanUp } from '../harness/clean-up.ts';

describe('test harness clean-up', () => {
  it('runs every step even after failures, and reports them all', async () => {
    const ran: string[] = [];
    await assert.rejects(
      cleanUp('lab', [
        ['a', () => ran.push('a')],
        [
          'b',
          () => {
            throw new Error('b broke');
          },
        ],
        ['c', async () => ran.push('c')],
        ['d', () => Promise.reject(new Error('d broke'))],
      ]),
      (error: Error) => {
        assert.match(error.message, /lab: 2 step\(s\) failed/);
        assert.match(error.message, /b: b broke/);
        assert.match(error.message, /d: d broke/);
        return true;
      },
    );
    assert.deepEqual(ran, ['a', 'c']);
  });

  it('withCleanUp cleans up after success and returns the result', async () => {
    let cleaned = false;
    const result = await withCleanUp(async () => 42, 'x', [['undo', () => (cleaned = true)]]);
    assert.equal(result, 42);
    assert.equal(cleaned, true);
  });

  it("withCleanUp cleans up after a failure and throws the body's error, with the clean-up's appended", async () => {
    let cleaned = false;
    await assert.rejects(
      withCleanUp(
        async () => {
          throw new Error('the test failed');
        },
        'heal',
        [
          ['plug in', () => (cleaned = true)],
          [
            'restart',
            () => {
              throw new Error('no forwarder');
            },
          ],
        ],
      ),
      (error: Error) => {
        assert.match(error.message, /^the test failed\n\(and then\) heal: 1 step\(s\) failed/);
        assert.match(error.message, /restart: no forwarder/);
        return true;
      },
    );
    assert.equal(cleaned, true);
  });
});
