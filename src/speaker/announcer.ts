// Makes this node's kernel own exactly the addresses it won, and tells the neighbours each time it takes
// one. The kernel answers ARP / neighbour solicitations for an address on an interface; gratuitous ARP
// (IPv4) and unsolicited neighbour advertisements (IPv6) make peers switch to this node at once. Every
// address carries a kernel lifetime that only a renewed heartbeat extends (see Speaker), so a speaker
// that dies or is cut off loses its addresses by itself.
import type { Logger } from 'pino';
import {
  type AnnouncementPlan,
  type HeldAddress,
  type KernelAnnouncement,
  planAnnouncements,
  type WantedAddress,
} from './announcement-plan.ts';
import type { CommandRunner } from './command-runner.ts';
import {
  ANNOUNCE_SCHEDULE_MS,
  announceCommands,
  isAlreadyGone,
  type Placement,
  releaseCommand,
  takeCommand,
} from './commands.ts';

/** What the announcer needs of a CommandRunner (tests pass a recorder). */
export type RunCommand = Pick<CommandRunner, 'run'>;

export interface AnnounceOutcome {
  /** Address → interfaces now carrying it. */
  announced: Map<string, string[]>;
  /** Address → why it could not be taken. */
  failed: Map<string, string>;
}

export interface AnnouncerHooks {
  onAnnounce?: () => void;
  onWithdraw?: () => void;
}

export class Announcer {
  readonly #runner: RunCommand;
  readonly #log: Logger;
  readonly #hooks: AnnouncerHooks;
  readonly #held = new Map<string, HeldAddress>();
  readonly #bursts = new Map<string, NodeJS.Timeout[]>();
  /** Placements this process added or removed, and when: newer than a snapshot, they overrule it. */
  readonly #changes = new Map<string, { placement: Placement; present: boolean; at: number }>();
  /** One change at a time: a refresh must not race a withdrawal. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(runner: RunCommand, log: Logger, hooks: AnnouncerHooks = {}) {
    this.#runner = runner;
    this.#log = log.child({ component: 'announcer' });
    this.#hooks = hooks;
  }

  /** Addresses this node announces now. */
  get held(): ReadonlyMap<string, HeldAddress> {
    return this.#held;
  }

  /**
   * Brings the kernel to `wanted`. `kernel` is what `ip -j addr show` reported (announcement addresses in
   * our pools only), or undefined when it could not be read. `lifetimeSeconds` < 1: no address may be
   * taken now (the heartbeat is about to lapse); releases still happen.
   */
  reconcile(
    wanted: readonly WantedAddress[],
    kernel: { placements: readonly KernelAnnouncement[]; readAt: number } | undefined,
    lifetimeSeconds: number,
  ): Promise<AnnounceOutcome> {
    return this.#serial(() => this.#reconcile(wanted, kernel && this.#current(kernel), lifetimeSeconds));
  }

  /** A snapshot of the kernel, corrected by what this process changed since it was read. */
  #current(kernel: { placements: readonly KernelAnnouncement[]; readAt: number }): KernelAnnouncement[] {
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

  /** Extends the lifetime of every held address (right after a heartbeat renewal). */
  refresh(lifetimeSeconds: number): Promise<void> {
    return this.#serial(async () => {
      if (lifetimeSeconds < 1) return;
      const placements = this.#heldPlacements();
      await Promise.all(
        placements.map(async (p) => {
          const result = await this.#runner.run(takeCommand(p, lifetimeSeconds));
          if (result.ok) this.#changed(p, true);
          if (!result.ok)
            this.#log.warn(
              { address: p.address, interface: p.interface, reason: result.reason },
              'could not refresh address',
            );
        }),
      );
    });
  }

  /** Removes every held address at once (fence, shutdown). `kernel` adds leftovers to remove as well. */
  withdrawAll(
    reason: string,
    kernel?: { placements: readonly KernelAnnouncement[]; readAt: number },
  ): Promise<void> {
    return this.#serial(async () => {
      const current = kernel && this.#current(kernel);
      if (this.#held.size === 0 && (current?.length ?? 0) === 0) return;
      // Held addresses are removed even if the snapshot missed them.
      const all =
        current && new Map([...current, ...this.#heldPlacements()].map((p) => [placementKey(p), p]));
      const plan = planAnnouncements([], this.#held, all && [...all.values()]);
      await this.#apply(plan, 0, reason);
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
    lifetimeSeconds: number,
  ): Promise<AnnounceOutcome> {
    // Without a lifetime to give, nothing new is taken; what is held stays until the fence removes it.
    const allowed = lifetimeSeconds >= 1 ? wanted : wanted.filter((w) => this.#held.has(w.address));
    const plan = planAnnouncements(allowed, this.#held, kernel);
    if (lifetimeSeconds < 1) plan.take = [];
    return this.#apply(plan, lifetimeSeconds, 'no longer elected here');
  }

  async #apply(
    plan: AnnouncementPlan,
    lifetimeSeconds: number,
    withdrawReason: string,
  ): Promise<AnnounceOutcome> {
    const outcome: AnnounceOutcome = { announced: new Map(), failed: new Map() };
    // Releases first: an address moving between interfaces is never on two at once for long.
    for (const h of plan.withdraw) this.#cancelBurst(h.address);
    const released = await Promise.all(plan.release.map((p) => this.#release(p)));
    for (const h of plan.withdraw) {
      this.#held.delete(h.address);
      this.#log.info(
        { address: h.address, service: h.service, interfaces: h.interfaces, reason: withdrawReason },
        'withdrawn',
      );
      this.#hooks.onWithdraw?.();
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
    await Promise.all(
      plan.take.map(async (p) => {
        const result = await this.#runner.run(takeCommand(p, lifetimeSeconds));
        if (result.ok) this.#changed(p, true);
        else takeFailures.set(`${p.address}%${p.interface}`, result.reason);
      }),
    );

    for (const a of plan.announce) {
      const failedOn = a.interfaces.filter((i) => takeFailures.has(`${a.address}%${i}`));
      const working = a.interfaces.filter((i) => !failedOn.includes(i));
      if (working.length === 0) {
        const reason = takeFailures.get(`${a.address}%${failedOn[0]}`) ?? 'no interface';
        outcome.failed.set(a.address, reason);
        this.#log.warn({ address: a.address, service: a.service, reason }, 'could not take address');
        continue;
      }
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
      this.#hooks.onAnnounce?.();
      this.#startBurst(
        a.address,
        working.map((i) => ({ family: a.family, address: a.address, interface: i })),
      );
    }
    for (const [address, held] of this.#held) outcome.announced.set(address, held.interfaces);
    return outcome;
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
    let reported = false;
    const send = (): void => {
      for (const p of placements) {
        for (const command of announceCommands(p)) {
          void this.#runner.run(command).then((result) => {
            if (!result.ok && !reported) {
              reported = true;
              this.#log.warn(
                { address, interface: p.interface, reason: result.reason },
                'could not send announcement',
              );
            }
          });
        }
      }
    };
    const timers = ANNOUNCE_SCHEDULE_MS.map((delay) => {
      const timer = setTimeout(send, delay);
      timer.unref();
      return timer;
    });
    this.#bursts.set(address, timers);
  }

  #cancelBurst(address: string): void {
    for (const timer of this.#bursts.get(address) ?? []) clearTimeout(timer);
    this.#bursts.delete(address);
  }
}

function placementKey(p: Placement): string {
  return `${p.address}%${p.interface}`;
}
