// Runs the speaker's system commands (ip, arping, na6), each with a time limit, and every outcome a value
// (never a throw) with a reason a person can act on. Commands run in two lanes that never wait on each
// other: `ip` (take, refresh, remove an address, read the interfaces: the fence and the heartbeat depend
// on them) and `announce` (arping, na6: each arping takes about a second, and a takeover of many addresses
// queues hundreds of them). The announce lane holds a bounded queue: when it is full the least urgent
// announcement (the latest round of a burst) is dropped rather than queued without bound.
import { execFile } from 'node:child_process';
import { type Command, commandText } from './commands.ts';

export type CommandResult =
  | { ok: true; stdout: string }
  /** `skipped`: never started (built too late, cancelled, or dropped from a full queue). */
  | { ok: false; stderr: string; reason: string; skipped?: boolean };

/**
 * A command built when its turn comes, not when it is queued: an address lifetime must be computed right
 * before `ip` runs. `build` returns `{ skip: reason }` when the command should no longer run.
 */
export interface DeferredCommand {
  file: Command['file'];
  build: () => Command | { skip: string };
  /** Announce lane: lower runs first and is dropped last (the round of a burst). */
  priority?: number;
}

export type Runnable = Command | DeferredCommand;

export type Lane = 'ip' | 'announce';

export interface LaneOptions {
  /** Commands in flight at once: a takeover of many addresses must not fork hundreds of processes. */
  concurrency: number;
  /** Commands allowed to wait; beyond it the least urgent is dropped. Unset: no limit. */
  maxQueued?: number;
  timeoutMs: number;
}

export interface CommandRunnerOptions {
  lanes: Record<Lane, LaneOptions>;
  onResult?: (file: Command['file'], ok: boolean) => void;
  /** A command dropped from a full queue or skipped when its turn came. */
  onSkipped?: (file: Command['file'], reason: string) => void;
  /** Runs one command (default: the real process); tests pass their own. */
  exec?: (command: Command, timeoutMs: number) => Promise<CommandResult>;
}

const PACKAGE_OF: Record<Command['file'], string> = {
  ip: 'iproute2',
  arping: 'iputils-arping',
  na6: 'ipv6toolkit',
};

function laneOf(file: Command['file']): Lane {
  return file === 'ip' ? 'ip' : 'announce';
}

interface Waiting {
  priority: number;
  seq: number;
  start: () => void;
  drop: (reason: string) => void;
}

class LaneQueue {
  readonly options: LaneOptions;
  readonly #waiting: Waiting[] = [];
  #running = 0;
  #seq = 0;

  constructor(options: LaneOptions) {
    this.options = options;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** Resolves true when the command may start, false when it was dropped (with the reason given to `dropped`). */
  acquire(priority: number, dropped: (reason: string) => void): Promise<boolean> {
    if (this.#running < this.options.concurrency) {
      this.#running++;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const entry: Waiting = {
        priority,
        seq: this.#seq++,
        start: () => resolve(true),
        drop: (reason) => {
          dropped(reason);
          resolve(false);
        },
      };
      const max = this.options.maxQueued;
      if (max !== undefined && this.#waiting.length >= max) {
        // Full: the least urgent of the queue and the newcomer goes.
        const worst = this.#waiting[this.#waiting.length - 1];
        if (!worst || worst.priority <= priority) {
          entry.drop(`more than ${max} commands waiting`);
          return;
        }
        this.#waiting.pop();
        worst.drop(`more than ${max} commands waiting`);
      }
      // Ordered by priority, then arrival.
      let at = this.#waiting.length;
      while (at > 0 && (this.#waiting[at - 1]?.priority ?? 0) > priority) at--;
      this.#waiting.splice(at, 0, entry);
    });
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next.start();
    else this.#running--;
  }
}

export class CommandRunner {
  readonly #options: CommandRunnerOptions;
  readonly #lanes: Record<Lane, LaneQueue>;

  constructor(options: CommandRunnerOptions) {
    this.#options = options;
    this.#lanes = { ip: new LaneQueue(options.lanes.ip), announce: new LaneQueue(options.lanes.announce) };
  }

  /** Commands waiting in a lane (not yet started). */
  queued(lane: Lane): number {
    return this.#lanes[lane].queued;
  }

  async run(runnable: Runnable): Promise<CommandResult> {
    const lane = this.#lanes[laneOf(runnable.file)];
    const priority = 'build' in runnable ? (runnable.priority ?? 0) : 0;
    let dropReason = '';
    const started = await lane.acquire(priority, (reason) => {
      dropReason = reason;
    });
    if (!started) return this.#skipped(runnable.file, `not run: ${dropReason}`);
    try {
      const command = 'build' in runnable ? runnable.build() : runnable;
      if ('skip' in command) return this.#skipped(runnable.file, command.skip);
      const exec = this.#options.exec ?? execCommand;
      const result = await exec(command, lane.options.timeoutMs);
      this.#options.onResult?.(command.file, result.ok);
      return result;
    } finally {
      lane.release();
    }
  }

  #skipped(file: Command['file'], reason: string): CommandResult {
    this.#options.onSkipped?.(file, reason);
    return { ok: false, stderr: '', reason, skipped: true };
  }
}

/** Runs a command as a child process (no shell). */
function execCommand(command: Command, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      command.file,
      command.args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ ok: true, stdout });
          return;
        }
        const text = commandText(command);
        const code = (error as NodeJS.ErrnoException).code;
        let reason: string;
        if (code === 'ENOENT') {
          reason = `${command.file} is not installed or not on PATH (Debian package ${PACKAGE_OF[command.file]})`;
        } else if (error.killed) {
          reason = `"${text}" did not finish within ${timeoutMs} ms`;
        } else {
          const detail = stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300);
          reason = `"${text}" failed (exit ${String(code ?? error.signal ?? '?')})${detail ? `: ${detail}` : ''}`;
        }
        resolve({ ok: false, stderr, reason });
      },
    );
  });
}
