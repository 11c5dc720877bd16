// Makes this node's kernel own exactly the addresses it won, and tells the neighbours each time it takes
// one. The kernel answers ARP / neighbour solicitations for an address on an interface; gratuitous ARP
// (IPv4) and unsolicited neighbour advertisements (IPv6) make peers switch to this node at once. Every
// address carries a kernel lifetime that only a renewed heartbeat extends (see Speaker), so a speaker
// that dies or is cut off loses its addresses by itself. Callers pass the DEADLINE by which an address
// must be gone (fence.ts); the lifetime is computed from it right before each `ip` command runs, so a
// command that waited in a queue never gives an address more time than the fence allows.
import type { Logger } from 'pino';
import {
  type AnnouncementPlan,
  type HeldAddress,
  type KernelAnnouncement,
  planAnnouncements,
  type WantedAddress,
} from './announcement-plan.ts';
import type { CommandRunner, DeferredCommand } from './command-runner.ts';
import {
  ANNOUNCE_SCHEDULE_MS,
  announceCommands,
  isAlreadyGone,
  type Placement,
  releaseCommand,
  takeCommand,
} from './commands.ts';
import { type HeartbeatTiming, lifetimeBefore } from './fence.ts';

/** What the announcer needs of a CommandRunner (tests pass a recorder). */
export type RunCommand = Pick<CommandRunner, 'run'>;

export interface AnnounceOutcome {
  /** Address → interfaces now carrying it. */
  announced: Map<string, string[]>;
  /** Address → why it could not be taken. */
  failed: Map<string, string>;
  /**
   * Addresses not (or not fully) taken for a reason that may pass, such as the fence's deadline being too
   * close when `ip` was about to run: the caller tries again.
   */
  postponed: Set<string>;
}

/** The announcement addresses an interface snapshot found on this node, and when that snapshot was read. */
export interface KernelView {
  placements: readonly KernelAnnouncement[];
  readAt: number;
}

export interface AnnouncerOptions {
  timing: HeartbeatTiming;
  onAnnounce?: () => void;
  onWithdraw?: () => void;
}

/** A burst still due; `cancelled` also stops its rounds that wait in the runner's queue. */
interface Burst {
  timers: NodeJS.Timeout[];
  cancelled: boolean;
}

export class Announcer {
  readonly #runner: RunCommand;
  readonly #log: Logger;
  readonly #options: AnnouncerOptions;
  readonly #held = new Map<string, HeldAddress>();
  readonly #bursts = new Map<string, Burst>();
  /** Placements this process added or removed, and when: newer than a snapshot, they overrule it. */
  readonly #changes = new Map<string, { placement: Placement; present: boolean; at: number }>();
  /** One change at a time: a refresh must not race a withdrawal. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(runner: RunCommand, log: Logger, options: AnnouncerOptions) {
    this.#runner = runner;
    this.#log = log.child({ component: 'announcer' });
    this.#options = options;
  }

  /** Addresses this node announces now. */
  get held(): ReadonlyMap<string, HeldAddress> {
    return this.#held;
  }

  /**
   * Brings the kernel to `wanted`. `kernel` is what `ip -j addr show` reported (announcement addresses in
   * our pools only), or undefined when it could not be read. `deadline` (ms, our clock): when any address
   * taken now must be gone by; undefined, or too close for a lifetime of a second: nothing new is taken
   * (the heartbeat is about to lapse); releases still happen.
   */
  reconcile(
    wanted: readonly WantedAddress[],
    kernel: KernelView | undefined,
    deadline: number | undefined,
  ): Promise<AnnounceOutcome> {
    return this.#serial(() => this.#reconcile(wanted, kernel && this.#current(kernel), deadline));
  }

  /** `ip addr replace` with the lifetime allowed when it actually runs; skipped below a second. */
  #take(p: Placement, deadline: number | undefined): DeferredCommand {
    return {
      file: 'ip',
      build: () => {
        const lifetime = lifetimeBefore(this.#options.timing, deadline, Date.now());
        return lifetime >= 1
          ? takeCommand(p, lifetime)
          : { skip: 'the heartbeat renewal is too old to give the address a lifetime' };
      },
    };
  }

  /** A snapshot of the kernel, corrected by what this process changed since it was read. */
  #current(kernel: KernelView): KernelAnnouncement[] {
    const byKey = new Map(kernel.placements.map((k) => [placementKey(k), k]));
    for (const [key, change] of this.#changes) {
      if (change.at < kernel.readAt) {
        this.#changes.delete(key);
        continue;
      }
      if (change.present) byKey.set(key, change.placement);
      else byKey.delete(key);
    }
    return [...byKey.values()];
  }

  /**
   * Extends the lifetime of every held address (right after a heartbeat renewal) so that it ends before
   * `deadline`. An address whose refresh could not run in time is withdrawn: it is about to expire anyway,
   * and what this process believes must match the kernel.
   */
  refresh(deadline: number): Promise<void> {
    return this.#serial(async () => {
      const placements = this.#heldPlacements();
      const late = new Set<string>();
      await Promise.all(
        placements.map(async (p) => {
          const result = await this.#runner.run(this.#take(p, deadline));
          if (result.ok) this.#changed(p, true);
          else if (result.skipped) late.add(p.address);
          else
            this.#log.warn(
              { address: p.address, interface: p.interface, reason: result.reason },
              'could not refresh address',
            );
        }),
      );
      if (late.size === 0) return;
      const keep = [...this.#held.values()].filter((h) => !late.has(h.address));
      await this.#apply(
        planAnnouncements(keep, this.#held, this.#heldPlacements()),
        undefined,
        'its lifetime could not be extended in time',
      );
    });
  }

  /**
   * Removes every held address at once (fence, shutdown). `kernel` adds leftovers to remove as well.
   * Resolves true when every address is gone from the kernel, false when some removal failed (it then
   * lives until its lifetime ends).
   */
  withdrawAll(reason: string, kernel?: KernelView): Promise<boolean> {
    return this.#serial(async () => {
      const current = kernel && this.#current(kernel);
      if (this.#held.size === 0 && (current?.length ?? 0) === 0) return true;
      // Held addresses are removed even if the snapshot missed them.
      const all =
        current && new Map([...current, ...this.#heldPlacements()].map((p) => [placementKey(p), p]));
      const plan = planAnnouncements([], this.#held, all && [...all.values()]);
      const outcome = await this.#apply(plan, undefined, reason);
      return outcome.releaseFailed === 0;
    });
  }

  /** Cancels pending announcements (on shutdown, after withdrawAll). */
  stop(): void {
    for (const address of [...this.#bursts.keys()]) this.#cancelBurst(address);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work, work);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #reconcile(
    wanted: readonly WantedAddress[],
    kernel: readonly KernelAnnouncement[] | undefined,
    deadline: number | undefined,
  ): Promise<AnnounceOutcome> {
    // Without a lifetime to give, nothing new is taken; what is held stays until the fence removes it.
    const canTake = lifetimeBefore(this.#options.timing, deadline, Date.now()) >= 1;
    const allowed = canTake ? wanted : wanted.filter((w) => this.#held.has(w.address));
    const plan = planAnnouncements(allowed, this.#held, kernel);
    if (!canTake) plan.take = [];
    const { releaseFailed: _, ...outcome } = await this.#apply(plan, deadline, 'no longer elected here');
    for (const w of wanted) if (!allowed.includes(w)) outcome.postponed.add(w.address);
    return outcome;
  }

  async #apply(
    plan: AnnouncementPlan,
    deadline: number | undefined,
    withdrawReason: string,
  ): Promise<AnnounceOutcome & { releaseFailed: number }> {
    const outcome: AnnounceOutcome = { announced: new Map(), failed: new Map(), postponed: new Set() };
    // Releases first: an address moving between interfaces is never on two at once for long.
    for (const h of plan.withdraw) this.#cancelBurst(h.address);
    const released = await Promise.all(plan.release.map((p) => this.#release(p)));
    for (const h of plan.withdraw) {
      this.#held.delete(h.address);
      this.#log.info(
        { address: h.address, service: h.service, interfaces: h.interfaces, reason: withdrawReason },
        'withdrawn',
      );
      this.#options.onWithdraw?.();
    }
    for (const p of plan.stale) {
      if (released[plan.release.indexOf(p)]) {
        this.#log.info({ address: p.address, interface: p.interface }, 'removed stale address');
      }
    }
    for (const [address, held] of this.#held) {
      // Interfaces released from a held address (moved elsewhere on this node).
      const remaining = held.interfaces.filter(
        (i) => !plan.release.some((p) => p.address === address && p.interface === i),
      );
      if (remaining.length !== held.interfaces.length)
        this.#held.set(address, { ...held, interfaces: remaining });
    }

    const takeFailures = new Map<string, string>();
    const tooLate = new Set<string>();
    await Promise.all(
      plan.take.map(async (p) => {
        const result = await this.#runner.run(this.#take(p, deadline));
        if (result.ok) this.#changed(p, true);
        else if (result.skipped) tooLate.add(`${p.address}%${p.interface}`);
        else takeFailures.set(`${p.address}%${p.interface}`, result.reason);
      }),
    );

    for (const a of plan.announce) {
      const failedOn = a.interfaces.filter((i) => takeFailures.has(`${a.address}%${i}`));
      const lateOn = a.interfaces.filter((i) => tooLate.has(`${a.address}%${i}`));
      const working = a.interfaces.filter((i) => !failedOn.includes(i) && !lateOn.includes(i));
      if (working.length === 0) {
        if (failedOn.length === 0) {
          // Not a failure: the next renewal gives it a lifetime again.
          outcome.postponed.add(a.address);
          continue;
        }
        const reason = takeFailures.get(`${a.address}%${failedOn[0]}`) ?? 'no interface';
        outcome.failed.set(a.address, reason);
        this.#log.warn({ address: a.address, service: a.service, reason }, 'could not take address');
        continue;
      }
      if (failedOn.length > 0 || lateOn.length > 0) outcome.postponed.add(a.address);
      this.#held.set(a.address, {
        family: a.family,
        address: a.address,
        interfaces: working,
        service: a.service,
      });
      this.#log.info(
        { address: a.address, service: a.service, interfaces: working, why: a.why },
        'announcing',
      );
      this.#options.onAnnounce?.();
      this.#startBurst(
        a.address,
        working.map((i) => ({ family: a.family, address: a.address, interface: i })),
      );
    }
    for (const [address, held] of this.#held) outcome.announced.set(address, held.interfaces);
    return { ...outcome, releaseFailed: released.filter((ok) => !ok).length };
  }

  async #release(p: Placement): Promise<boolean> {
    const result = await this.#runner.run(releaseCommand(p));
    if (result.ok || isAlreadyGone(result.stderr)) {
      this.#changed(p, false);
      return true;
    }
    // The kernel lifetime removes it soon anyway; say so rather than fail.
    this.#log.error(
      { address: p.address, interface: p.interface, reason: result.reason },
      'could not remove address; it expires by itself',
    );
    return false;
  }

  #changed(placement: Placement, present: boolean): void {
    this.#changes.set(placementKey(placement), { placement, present, at: Date.now() });
  }

  #heldPlacements(): Placement[] {
    return [...this.#held.values()].flatMap((h) =>
      h.interfaces.map((i) => ({ family: h.family, address: h.address, interface: i })),
    );
  }

  #startBurst(address: string, placements: Placement[]): void {
    this.#cancelBurst(address);
    const burst: Burst = { timers: [], cancelled: false };
    let reported = false;
    const send = (round: number): void => {
      for (const p of placements) {
        for (const command of announceCommands(p)) {
          const deferred: DeferredCommand = {
            file: command.file,
            // Earlier rounds first: when many addresses move at once, later repeats are dropped first.
            priority: round,
            build: () => (burst.cancelled ? { skip: 'the address was withdrawn' } : command),
          };
          void this.#runner.run(deferred).then((result) => {
            if (result.ok || reported || burst.cancelled) return;
            reported = true;
            const level = result.skipped ? 'info' : 'warn';
            this.#log[level](
              { address, interface: p.interface, reason: result.reason },
              'could not send announcement',
            );
          });
        }
      }
    };
    burst.timers = ANNOUNCE_SCHEDULE_MS.map((delay, round) => {
      const timer = setTimeout(() => send(round), delay);
      timer.unref();
      return timer;
    });
    this.#bursts.set(address, burst);
  }

  #cancelBurst(address: string): void {
    const burst = this.#bursts.get(address);
    if (!burst) return;
    burst.cancelled = true;
    for (const timer of burst.timers) clearTimeout(timer);
    this.#bursts.delete(address);
  }
}

function placementKey(p: Placement): string {
  return `${p.address}%${p.interface}`;
}
