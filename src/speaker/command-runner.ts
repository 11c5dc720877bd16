// Runs the speaker's system commands (ip, arping, na6): a bounded number at once, each with a time
// limit, and every outcome a value (never a throw) with a reason a person can act on.
import { execFile } from 'node:child_process';
import { type Command, commandText } from './commands.ts';

export type CommandResult = { ok: true; stdout: string } | { ok: false; stderr: string; reason: string };

export interface CommandRunnerOptions {
  /** Commands in flight at once: a takeover of many addresses must not fork hundreds of processes. */
  concurrency: number;
  timeoutMs: number;
  onResult?: (file: Command['file'], ok: boolean) => void;
}

const PACKAGE_OF: Record<Command['file'], string> = {
  ip: 'iproute2',
  arping: 'iputils-arping',
  na6: 'ipv6toolkit',
};

export class CommandRunner {
  readonly #options: CommandRunnerOptions;
  readonly #waiting: Array<() => void> = [];
  #running = 0;

  constructor(options: CommandRunnerOptions) {
    this.#options = options;
  }

  async run(command: Command): Promise<CommandResult> {
    if (this.#running >= this.#options.concurrency) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#running++;
    try {
      const result = await this.#exec(command);
      this.#options.onResult?.(command.file, result.ok);
      return result;
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  #exec(command: Command): Promise<CommandResult> {
    return new Promise((resolve) => {
      execFile(
        command.file,
        command.args,
        {
          timeout: this.#options.timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: 32 * 1024 * 1024,
          encoding: 'utf8',
        },
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
            reason = `"${text}" did not finish within ${this.#options.timeoutMs} ms`;
          } else {
            const detail = stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300);
            reason = `"${text}" failed (exit ${String(code ?? error.signal ?? '?')})${detail ? `: ${detail}` : ''}`;
          }
          resolve({ ok: false, stderr, reason });
        },
      );
    });
  }
}
