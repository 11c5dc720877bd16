import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { pino } from 'pino';
import type { WantedAddress } from '../../src/speaker/announcement-plan.ts';
import { Announcer, type RunCommand } from '../../src/speaker/announcer.ts';
import type { CommandResult, Runnable } from '../../src/speaker/command-runner.ts';
import { commandText } from '../../src/speaker/commands.ts';

const TIMING = { durationMs: 6000, intervalMs: 2000 };
/** A fence deadline that gives addresses a lifetime of `seconds` now (at most D − R = 4 s). */
const until = (seconds: number): number => Date.now() + seconds * 1000 + 500;

/** Records every command; `fail` decides which ones fail (by their text). */
function recorder(fail: (text: string) => string | undefined = () => undefined) {
  const ran: string[] = [];
  const runner: RunCommand = {
    run: async (runnable: Runnable): Promise<CommandResult> => {
      const command = 'build' in runnable ? runnable.build() : runnable;
      if ('skip' in command) return { ok: false, stderr: '', reason: command.skip, skipped: true };
      const text = commandText(command);
      ran.push(text);
      const stderr = fail(text);
      return stderr === undefined
        ? { ok: true, stdout: '' }
        : { ok: false, stderr, reason: `"${text}" failed: ${stderr}` };
    },
  };
  return { runner, ran };
}

const silent = pino({ level: 'silent' });
const web: WantedAddress = {
  family: 'IPv4',
  address: '198.51.100.200',
  interfaces: ['eth0'],
  service: 'ns/web',
};
const web6: WantedAddress = {
  family: 'IPv6',
  address: '2001:db8:51::200',
  interfaces: ['eth0'],
  service: 'ns/web6',
};
const snapshot = (placements: Array<{ address: string; interface: string }>, readAt = 0) => ({
  placements: placements.map((p) => ({
    ...p,
    family: p.address.includes(':') ? ('IPv6' as const) : ('IPv4' as const),
  })),
  readAt,
});
/** Lets the promise callbacks queued by the announcer run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => queueMicrotask(resolve));
};

describe('Announcer', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('takes a won address with a lifetime and announces it five times over ~4.4 s', async () => {
    const { runner, ran } = recorder();
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    const outcome = await announcer.reconcile([web, web6], snapshot([]), until(4));
    assert.deepEqual(
      [...outcome.announced],
      [
        ['198.51.100.200', ['eth0']],
        ['2001:db8:51::200', ['eth0']],
      ],
    );
    assert.deepEqual(ran.splice(0), [
      'ip -4 addr replace 198.51.100.200/32 dev eth0 valid_lft 4 preferred_lft 0',
      'ip -6 addr replace 2001:db8:51::200/128 dev eth0 valid_lft 4 preferred_lft 0 nodad',
    ]);
    mock.timers.tick(0);
    await settle();
    assert.deepEqual(ran.splice(0), [
      'arping -q -U -c 1 -I eth0 198.51.100.200',
      'arping -q -A -c 1 -I eth0 198.51.100.200',
      'na6 -i eth0 -s 2001:db8:51::200 -d ff02::1 -t 2001:db8:51::200 -o -e',
    ]);
    mock.timers.tick(1099);
    await settle();
    assert.deepEqual(ran.splice(0), []);
    mock.timers.tick(1);
    await settle();
    assert.equal(ran.splice(0).length, 3);
    mock.timers.tick(10_000);
    await settle();
    // Rounds at 2.2, 3.3 and 4.4 s; then silence.
    assert.equal(ran.splice(0).length, 9);
  });

  it('extends the lifetime of what it holds, and only that', async () => {
    const { runner, ran } = recorder();
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    await announcer.reconcile([web], snapshot([]), until(4));
    ran.length = 0;
    await announcer.refresh(until(3));
    assert.deepEqual(ran, ['ip -4 addr replace 198.51.100.200/32 dev eth0 valid_lft 3 preferred_lft 0']);
    announcer.stop();
  });

  it('withdraws: removes the address and stops the announcements still due', async () => {
    const { runner, ran } = recorder();
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    await announcer.reconcile([web], snapshot([]), until(4));
    mock.timers.tick(0);
    await settle();
    ran.length = 0;
    const outcome = await announcer.reconcile(
      [],
      snapshot([{ address: '198.51.100.200', interface: 'eth0' }]),
      4,
    );
    assert.deepEqual([...outcome.announced], []);
    assert.deepEqual(ran.splice(0), ['ip -4 addr del 198.51.100.200/32 dev eth0']);
    mock.timers.tick(10_000);
    await settle();
    assert.deepEqual(ran, [], 'no announcement after the withdrawal');
    assert.equal(announcer.held.size, 0);
  });

  it('withdrawAll removes held addresses and leftovers at once (fence, shutdown)', async () => {
    const { runner, ran } = recorder();
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    await announcer.reconcile([web], snapshot([]), until(4));
    ran.length = 0;
    // The snapshot predates the take and shows only a leftover: the held address goes too.
    await announcer.withdrawAll(
      'shutting down',
      snapshot([{ address: '198.51.100.209', interface: 'eth1' }], 0),
    );
    assert.deepEqual(ran.sort(), [
      'ip -4 addr del 198.51.100.200/32 dev eth0',
      'ip -4 addr del 198.51.100.209/32 dev eth1',
    ]);
    assert.equal(announcer.held.size, 0);
  });

  it('reports an address it could not take, and does not count it as announced', async () => {
    const { runner, ran } = recorder((text) =>
      text.startsWith('ip -4 addr replace') ? 'Cannot find device "eth0"' : undefined,
    );
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    const outcome = await announcer.reconcile([web], snapshot([]), until(4));
    assert.deepEqual([...outcome.announced], []);
    assert.match(outcome.failed.get('198.51.100.200') ?? '', /Cannot find device "eth0"/);
    mock.timers.tick(10_000);
    await settle();
    assert.ok(
      ran.every((t) => !t.startsWith('arping')),
      'nothing announced',
    );
  });

  it('takes nothing new while no lifetime can be given (the heartbeat is about to lapse)', async () => {
    const { runner, ran } = recorder();
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    const outcome = await announcer.reconcile([web], snapshot([]), until(0));
    assert.deepEqual([...outcome.announced], []);
    assert.deepEqual(ran, []);
  });

  it('trusts its own changes over a snapshot read before them', async () => {
    const { runner, ran } = recorder();
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    await announcer.reconcile([web], snapshot([], Date.now()), until(4));
    mock.timers.tick(100);
    ran.length = 0;
    // A snapshot read before the take does not show the address: not taken again, not announced again.
    await announcer.reconcile([web], snapshot([], Date.now() - 500), until(4));
    assert.deepEqual(ran, []);
    // A snapshot read after the take that lacks it (removed by hand): put back.
    await announcer.reconcile([web], snapshot([], Date.now() + 1), until(4));
    assert.deepEqual(ran, ['ip -4 addr replace 198.51.100.200/32 dev eth0 valid_lft 4 preferred_lft 0']);
    announcer.stop();
  });

  it('treats removing an address already gone as success', async () => {
    const { runner } = recorder((text) =>
      text.includes(' del ') ? 'Error: ipv4: Address not found.' : undefined,
    );
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    let withdrawn = 0;
    const counted = new Announcer(runner, silent, { timing: TIMING, onWithdraw: () => withdrawn++ });
    await counted.reconcile([web], snapshot([]), until(4));
    await counted.reconcile(
      [],
      snapshot([{ address: '198.51.100.200', interface: 'eth0' }], Date.now() + 1),
      4,
    );
    assert.equal(withdrawn, 1);
    assert.equal(counted.held.size, 0);
    announcer.stop();
    counted.stop();
  });

  it('computes the lifetime when ip runs, from the deadline, not when the take was queued', async () => {
    const ran: string[] = [];
    let open: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const runner: RunCommand = {
      run: async (runnable: Runnable): Promise<CommandResult> => {
        await gate; // waits in a queue
        const command = 'build' in runnable ? runnable.build() : runnable;
        if ('skip' in command) return { ok: false, stderr: '', reason: command.skip, skipped: true };
        ran.push(commandText(command));
        return { ok: true, stdout: '' };
      },
    };
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    const taking = announcer.reconcile([web], snapshot([]), until(4));
    mock.timers.tick(2000); // 2 s in the queue: only 2 s of the 4 are left
    open?.();
    const outcome = await taking;
    assert.deepEqual(
      ran.filter((t) => t.startsWith('ip')),
      ['ip -4 addr replace 198.51.100.200/32 dev eth0 valid_lft 2 preferred_lft 0'],
    );
    assert.deepEqual([...outcome.announced.keys()], ['198.51.100.200']);
    announcer.stop();
  });

  it('does not take an address whose deadline passed while the take waited; says to try again', async () => {
    const ran: string[] = [];
    const runner: RunCommand = {
      run: async (runnable: Runnable): Promise<CommandResult> => {
        mock.timers.tick(3000); // the queue was slow
        const command = 'build' in runnable ? runnable.build() : runnable;
        if ('skip' in command) return { ok: false, stderr: '', reason: command.skip, skipped: true };
        ran.push(commandText(command));
        return { ok: true, stdout: '' };
      },
    };
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    const outcome = await announcer.reconcile([web], snapshot([]), until(2));
    assert.deepEqual(ran, []);
    assert.deepEqual([...outcome.announced], []);
    assert.deepEqual([...outcome.failed], [], 'not a failure to report');
    assert.deepEqual([...outcome.postponed], ['198.51.100.200']);
    assert.equal(announcer.held.size, 0);
  });

  it('withdraws an address whose refresh came too late to give it a lifetime', async () => {
    const { runner, ran } = recorder();
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    await announcer.reconcile([web], snapshot([]), until(4));
    ran.length = 0;
    await announcer.refresh(Date.now() + 500);
    assert.deepEqual(ran, ['ip -4 addr del 198.51.100.200/32 dev eth0']);
    assert.equal(announcer.held.size, 0);
  });

  it('withdrawAll says whether every address is gone (shutdown keeps the Lease if not)', async () => {
    let failDel = true;
    const { runner } = recorder((text) =>
      failDel && text.includes(' del ') ? 'RTNETLINK answers: Operation not permitted' : undefined,
    );
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    await announcer.reconcile([web], snapshot([]), until(4));
    assert.equal(await announcer.withdrawAll('shutting down', snapshot([])), false);
    failDel = false;
    await announcer.reconcile([web], snapshot([]), until(4));
    assert.equal(await announcer.withdrawAll('shutting down', snapshot([])), true);
    assert.equal(await announcer.withdrawAll('shutting down', snapshot([])), true, 'nothing left');
    announcer.stop();
  });

  it('a withdrawal also stops announcement rounds already waiting in the runner', async () => {
    const built: string[] = [];
    const waiting: Array<() => void> = [];
    const runner: RunCommand = {
      run: async (runnable: Runnable): Promise<CommandResult> => {
        if (runnable.file !== 'ip') await new Promise<void>((resolve) => waiting.push(resolve));
        const command = 'build' in runnable ? runnable.build() : runnable;
        if ('skip' in command) return { ok: false, stderr: '', reason: command.skip, skipped: true };
        built.push(commandText(command));
        return { ok: true, stdout: '' };
      },
    };
    const announcer = new Announcer(runner, silent, { timing: TIMING });
    await announcer.reconcile([web], snapshot([]), until(4));
    mock.timers.tick(0);
    await settle();
    assert.equal(waiting.length, 2, 'the first round waits for a free slot');
    await announcer.reconcile(
      [],
      snapshot([{ address: '198.51.100.200', interface: 'eth0' }], Date.now() + 1),
      until(4),
    );
    for (const go of waiting.splice(0)) go();
    await settle();
    assert.deepEqual(
      built.filter((t) => t.startsWith('arping')),
      [],
      'no gratuitous ARP for an address this node no longer holds',
    );
  });
});
