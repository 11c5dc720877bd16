import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CommandResult, CommandRunner, type LaneOptions } from '../../src/speaker/command-runner.ts';
import {
  announceCommands,
  type Command,
  commandText,
  readInterfacesCommand,
} from '../../src/speaker/commands.ts';

/** A fake exec: every command waits until released by text; `started` lists what began, in order. */
function gatedExec() {
  const started: string[] = [];
  const gates = new Map<string, Array<() => void>>();
  const exec = (command: Command): Promise<CommandResult> => {
    const text = commandText(command);
    started.push(text);
    if (command.file === 'ip') return Promise.resolve({ ok: true, stdout: '[]' });
    return new Promise((resolve) => {
      const list = gates.get(text) ?? [];
      list.push(() => resolve({ ok: true, stdout: '' }));
      gates.set(text, list);
    });
  };
  const releaseAll = (): void => {
    for (const list of gates.values()) for (const open of list.splice(0)) open();
  };
  return { exec, started, releaseAll };
}

const placement = (i: number) => ({ family: 'IPv4' as const, address: `198.51.100.${i}`, interface: 'eth0' });
const lanes = (announce: LaneOptions) => ({ ip: { concurrency: 2, timeoutMs: 1000 }, announce });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('CommandRunner lanes', () => {
  it('runs ip commands at once even while the announce lane is full and has a queue', async () => {
    const { exec, started, releaseAll } = gatedExec();
    const runner = new CommandRunner({ lanes: lanes({ concurrency: 2, timeoutMs: 1000 }), exec });
    const arpings = Array.from({ length: 40 }, (_, i) => announceCommands(placement(i))).flat();
    const pending = arpings.map((c) => runner.run(c));
    await settle();
    assert.equal(runner.queued('announce'), 78);
    // The interface snapshot (before a heartbeat) and a take must not wait behind them.
    const result = await runner.run(readInterfacesCommand());
    assert.equal(result.ok, true);
    assert.equal(started.at(-1), 'ip -j addr show');
    assert.equal(started.filter((t) => t.startsWith('arping')).length, 2);
    releaseAll();
    for (let i = 0; i < 100 && runner.queued('announce') > 0; i++) {
      await settle();
      releaseAll();
    }
    await Promise.all(pending);
  });

  it('bounds the announce queue: drops the latest rounds first, never the first round of a new burst', async () => {
    const { exec, releaseAll } = gatedExec();
    const skipped: string[] = [];
    const runner = new CommandRunner({
      lanes: lanes({ concurrency: 1, maxQueued: 3, timeoutMs: 1000 }),
      exec,
      onSkipped: (_file, reason) => skipped.push(reason),
    });
    const arping = (i: number, round: number) => {
      const command = announceCommands(placement(i))[0] as Command;
      return runner.run({ file: 'arping', priority: round, build: () => command });
    };
    const first = arping(1, 0); // runs
    const queued = [arping(2, 4), arping(3, 3), arping(4, 2)];
    await settle();
    assert.equal(runner.queued('announce'), 3);
    // A new address's first round displaces the latest round waiting (round 4 of address 2).
    const fresh = arping(5, 0);
    assert.deepEqual(await queued[0], {
      ok: false,
      stderr: '',
      reason: 'not run: more than 3 commands waiting',
      skipped: true,
    });
    // A late round finds no room: dropped at once.
    const late = await arping(6, 4);
    assert.equal(late.ok, false);
    assert.equal(skipped.length, 2);
    releaseAll();
    for (let i = 0; i < 20; i++) {
      await settle();
      releaseAll();
    }
    assert.equal((await fresh).ok, true);
    assert.equal((await first).ok, true);
  });

  it('builds a deferred command only when it starts, and skips it when the builder says so', async () => {
    const { exec, started, releaseAll } = gatedExec();
    const runner = new CommandRunner({ lanes: lanes({ concurrency: 1, timeoutMs: 1000 }), exec });
    let built = 0;
    let cancelled = false;
    const blocker = runner.run(announceCommands(placement(1))[0] as Command);
    const deferred = runner.run({
      file: 'arping',
      build: () => {
        built++;
        return cancelled
          ? { skip: 'the address was withdrawn' }
          : (announceCommands(placement(2))[0] as Command);
      },
    });
    await settle();
    assert.equal(built, 0, 'not built while waiting');
    cancelled = true;
    releaseAll();
    assert.deepEqual(await deferred, {
      ok: false,
      stderr: '',
      reason: 'the address was withdrawn',
      skipped: true,
    });
    assert.equal(built, 1);
    assert.equal(started.length, 1);
    await blocker;
  });
});
