// Network namespaces for data-plane tests: a LAN (a bridge in a namespace of its own) with member namespaces
// plugged into it by veth pairs, and processes run inside a member. Needs root and iproute2.
//
// Nothing here touches the root network namespace: the bridge and the host ends of the veths live in the LAN
// namespace, the other ends in the members, so deleting the namespaces deletes every link with them.
// Namespace names carry the creating process id, so parallel runs never collide and a later run can sweep
// what a killed run left behind.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The interface name every member sees for its link to the LAN. */
export const MEMBER_INTERFACE = 'eth0';
const BRIDGE = 'br0';

export type MemberSpec = {
  /** Short name, [a-z0-9] (it becomes part of namespace and interface names). */
  name: string;
  /** Address with prefix on the member's interface, e.g. 198.51.100.11/24. */
  ipv4: string;
  /** Optional IPv6 address with prefix, e.g. 2001:db8:51::11/64. */
  ipv6?: string;
};

export type Member = MemberSpec & {
  namespace: string;
  /** The host end of the veth, inside the LAN namespace, enslaved to the bridge. */
  bridgePort: string;
  /** MAC address of the member's interface. */
  mac: string;
};

/** One address on an interface, as `ip -j addr` reports it. */
export type InterfaceAddress = {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  /** Seconds; 4294967295 means forever. */
  validLifetime: number;
  preferredLifetime: number;
};

/** Runs `ip ARGS`; rejects with ip's own error text. */
export async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ip', args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
  }
}

/** Runs `ip -n NAMESPACE ARGS`. */
export function ipIn(namespace: string, args: string[]): Promise<string> {
  return ip(['-n', namespace, ...args]);
}

/** The addresses on one interface of a namespace (empty when the interface has none). */
export async function addressesOn(namespace: string, device: string): Promise<InterfaceAddress[]> {
  const parsed = JSON.parse(await ipIn(namespace, ['-j', 'addr', 'show', 'dev', device])) as Array<{
    addr_info?: Array<{
      family?: string;
      local?: string;
      prefixlen?: number;
      valid_life_time?: number;
      preferred_life_time?: number;
    }>;
  }>;
  const result: InterfaceAddress[] = [];
  for (const link of parsed) {
    for (const a of link.addr_info ?? []) {
      if ((a.family !== 'inet' && a.family !== 'inet6') || a.local === undefined) continue;
      result.push({
        family: a.family,
        local: a.local,
        prefixlen: a.prefixlen ?? 0,
        validLifetime: a.valid_life_time ?? 0,
        preferredLifetime: a.preferred_life_time ?? 0,
      });
    }
  }
  return result;
}

/** Runs COMMAND ARGS inside a namespace (`ip netns exec`); rejects with the command's own error text. */
async function execIn(namespace: string, command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ip', ['netns', 'exec', namespace, command, ...args]);
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(
      `${command} ${args.join(' ')} in ${namespace} failed: ${stderr || (error as Error).message}`,
    );
  }
}

/** Reads kernel settings of a namespace (/proc/sys/net is per namespace), by their sysctl names. */
export async function sysctlsIn(namespace: string, names: string[]): Promise<Map<string, string>> {
  const values = (await execIn(namespace, 'sysctl', ['-n', ...names])).trimEnd().split('\n');
  if (values.length !== names.length)
    throw new Error(`sysctl -n in ${namespace}: ${values.length} values for ${names.length} names`);
  return new Map(names.map((name, i) => [name, values[i]!.trim()]));
}

/** Writes kernel settings of a namespace, then reads them back: rejects unless every one took. */
export async function setSysctlsIn(namespace: string, values: ReadonlyMap<string, string>): Promise<void> {
  await execIn(namespace, 'sysctl', ['-q', '-w', ...[...values].map(([name, value]) => `${name}=${value}`)]);
  const now = await sysctlsIn(namespace, [...values.keys()]);
  const wrong = [...values].filter(([name, value]) => now.get(name) !== value);
  if (wrong.length > 0)
    throw new Error(
      `in ${namespace}, ${wrong.map(([name, value]) => `${name} is ${now.get(name)}, not ${value}`).join('; ')}`,
    );
}

/**
 * The per-interface settings with which a host resolves a neighbour by itself: unicast probes of a stale
 * entry, multicast (broadcast) solicitations of an unresolved one, the user-space daemon's probes, and
 * multicast re-probes once unicast ones went unanswered. With all of them 0, the kernel never asks who has
 * an address: an entry that goes stale and fails stays failed, and only a neighbour's unsolicited
 * announcement (gratuitous ARP, unsolicited NA with Override) can change the MAC address it points at.
 */
export function neighbourSolicitSysctls(device: string, families: Array<'ipv4' | 'ipv6'>): string[] {
  return families.flatMap((family) =>
    ['ucast_solicit', 'mcast_solicit', 'app_solicit', 'mcast_resolicit'].map(
      (setting) => `net.${family}.neigh.${device}.${setting}`,
    ),
  );
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Why this process cannot run network-namespace tests, if it cannot: not root, or a command missing from
 * PATH (`ip` and `setpriv` are needed here; pass what the programs run inside need, e.g. `arping`).
 */
export function namespaceTestProblems(commands: string[] = []): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('network namespaces need root (run the test as root)');
  const missing = ['ip', 'setpriv', ...commands].filter((c) => !onPath(c));
  if (missing.length > 0) problems.push(`not on PATH: ${missing.join(', ')}`);
  return problems;
}

const NAMESPACE_OF_RUN = /^(.+)-(\d+)-[a-z0-9]+$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes namespaces named `PREFIX-PID-*` whose PID no longer runs: what a run that was killed before its
 * clean-up left behind. Returns the names it deleted.
 */
export async function sweepStaleNamespaces(prefix: string): Promise<string[]> {
  const out = await ip(['-j', 'netns', 'list']);
  const listed = (out.trim() === '' ? [] : JSON.parse(out)) as Array<{ name: string }>;
  const swept: string[] = [];
  for (const { name } of listed) {
    const match = NAMESPACE_OF_RUN.exec(name);
    if (!match || match[1] !== prefix) continue;
    if (Number(match[2]) === process.pid || processAlive(Number(match[2]))) continue;
    await ip(['netns', 'del', name]).catch(() => undefined);
    swept.push(name);
  }
  return swept;
}

/**
 * A LAN: one bridge, in its own namespace, and a namespace per member with `eth0` plugged into the bridge.
 * Create with `Lan.create`; `destroy()` deletes every namespace (and with them every link) it made.
 */
export class Lan {
  readonly namespace: string;
  readonly #members = new Map<string, Member>();
  readonly #created: string[] = [];

  private constructor(namespace: string) {
    this.namespace = namespace;
  }

  /**
   * Builds the LAN; namespaces are named `PREFIX-PID-lan` and `PREFIX-PID-MEMBER`. On failure, deletes
   * whatever it had made and rejects.
   */
  static async create(prefix: string, members: MemberSpec[]): Promise<Lan> {
    for (const m of members) {
      if (!/^[a-z0-9]{1,8}$/.test(m.name) || m.name === 'lan')
        throw new Error(`member name ${JSON.stringify(m.name)}: use 1-8 of [a-z0-9], not "lan"`);
    }
    const lan = new Lan(`${prefix}-${process.pid}-lan`);
    try {
      await lan.#addNamespace(lan.namespace);
      await ipIn(lan.namespace, ['link', 'set', 'lo', 'up']);
      // No STP: a port forwards as soon as it is up, and a re-attached port forwards at once.
      await ipIn(lan.namespace, [
        'link',
        'add',
        BRIDGE,
        'type',
        'bridge',
        'stp_state',
        '0',
        'forward_delay',
        '0',
      ]);
      await ipIn(lan.namespace, ['link', 'set', BRIDGE, 'up']);
      for (const spec of members) await lan.#addMember(prefix, spec);
    } catch (error) {
      await lan.destroy();
      throw error;
    }
    return lan;
  }

  member(name: string): Member {
    const m = this.#members.get(name);
    if (!m) throw new Error(`no LAN member ${name}`);
    return m;
  }

  get members(): Member[] {
    return [...this.#members.values()];
  }

  /**
   * Cuts a member off the LAN at the switch: its port leaves the bridge. The member's own interface stays up
   * with carrier, as when a switch port or an uplink fails further away, so the member cannot tell from its
   * link state.
   */
  async cut(name: string): Promise<void> {
    await ipIn(this.namespace, ['link', 'set', this.member(name).bridgePort, 'nomaster']);
  }

  /** Plugs a cut member back into the bridge. */
  async restore(name: string): Promise<void> {
    await ipIn(this.namespace, ['link', 'set', this.member(name).bridgePort, 'master', BRIDGE]);
  }

  /**
   * Deletes every namespace this LAN made (links go with them). Kill the processes you started inside first:
   * a namespace lives on, nameless, while a process is still in it.
   */
  async destroy(): Promise<void> {
    const problems: string[] = [];
    for (const ns of this.#created.splice(0).reverse()) {
      await ip(['netns', 'del', ns]).catch((error: Error) => problems.push(error.message));
    }
    if (problems.length > 0) throw new Error(`LAN clean-up: ${problems.join('; ')}`);
  }

  async #addNamespace(name: string): Promise<void> {
    await ip(['netns', 'add', name]);
    this.#created.push(name);
  }

  async #addMember(prefix: string, spec: MemberSpec): Promise<void> {
    const namespace = `${prefix}-${process.pid}-${spec.name}`;
    const bridgePort = `to-${spec.name}`;
    await this.#addNamespace(namespace);
    await ipIn(this.namespace, [
      'link',
      'add',
      bridgePort,
      'type',
      'veth',
      'peer',
      'name',
      MEMBER_INTERFACE,
      'netns',
      namespace,
    ]);
    await ipIn(this.namespace, ['link', 'set', bridgePort, 'master', BRIDGE, 'up']);
    await ipIn(namespace, ['link', 'set', 'lo', 'up']);
    await ipIn(namespace, ['addr', 'add', spec.ipv4, 'dev', MEMBER_INTERFACE]);
    // nodad: the address is usable at once; the LAN is ours, so there is nothing to collide with.
    if (spec.ipv6) await ipIn(namespace, ['addr', 'add', spec.ipv6, 'dev', MEMBER_INTERFACE, 'nodad']);
    await ipIn(namespace, ['link', 'set', MEMBER_INTERFACE, 'up']);
    const link = JSON.parse(await ipIn(namespace, ['-j', 'link', 'show', 'dev', MEMBER_INTERFACE])) as Array<{
      address?: string;
    }>;
    const mac = link[0]?.address;
    if (!mac) throw new Error(`no MAC address on ${MEMBER_INTERFACE} in ${namespace}`);
    this.#members.set(spec.name, { ...spec, namespace, bridgePort, mac });
  }
}

/** A parsed line of a child's standard output: JSON when it is JSON (pino logs), else `{ raw }`. */
export type OutputLine = { [key: string]: unknown; receivedAt: number };

/**
 * A process running inside a network namespace (`ip netns exec`, which execs, so the child's pid is the
 * program's own). Started with a parent-death signal, so it dies with the test process even when that is
 * killed before its clean-up runs. Collects stdout lines, parsed as JSON where they are.
 */
export class NamespaceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: OutputLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #stderr = '';
  #closed = false;
  #waiters = new Set<() => void>();

  constructor(
    name: string,
    namespace: string,
    command: string,
    args: string[],
    options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ) {
    this.name = name;
    this.child = spawn(
      'ip',
      ['netns', 'exec', namespace, 'setpriv', '--pdeathsig', 'KILL', command, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd },
    );
    let partial = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      const receivedAt = Date.now();
      for (const text of parts) {
        if (text.trim() === '') continue;
        let line: OutputLine;
        try {
          const parsed: unknown = JSON.parse(text);
          line =
            typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
              ? { ...(parsed as Record<string, unknown>), receivedAt }
              : { raw: text, receivedAt };
        } catch {
          line = { raw: text, receivedAt };
        }
        this.lines.push(line);
      }
      for (const wake of [...this.#waiters]) wake();
    });
    // A spawn failure (no `ip` on PATH) arrives here, then 'close'; keep it for tail().
    this.child.on('error', (error) => {
      this.#stderr += `\n${error.message}`;
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-20_000);
    });
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': by then every line the child wrote has been read.
      this.child.on('close', (code, signal) => {
        this.#closed = true;
        for (const wake of [...this.#waiters]) wake();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /**
   * Resolves with the first line (from index `from` on) that matches; rejects after `timeoutMs`, or when the
   * process exits first, with the output's tail.
   */
  waitForLine(predicate: (line: OutputLine) => boolean, timeoutMs: number, from = 0): Promise<OutputLine> {
    return new Promise((resolve, reject) => {
      let scanned = from;
      const finish = (error?: Error, line?: OutputLine): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (error) reject(error);
        else resolve(line!);
      };
      const check = (): void => {
        for (; scanned < this.lines.length; scanned++) {
          const line = this.lines[scanned]!;
          if (predicate(line)) {
            finish(undefined, line);
            return;
          }
        }
        if (this.#closed) finish(new Error(`${this.name} exited before the line appeared\n${this.tail()}`));
      };
      const timer = setTimeout(
        () => finish(new Error(`${this.name}: line not seen within ${timeoutMs} ms\n${this.tail()}`)),
        timeoutMs,
      );
      this.#waiters.add(check);
      check();
    });
  }

  tail(n = 20): string {
    const lines = this.lines.slice(-n).map(({ receivedAt: _, ...rest }) => JSON.stringify(rest));
    return [...lines, this.#stderr ? `stderr: ${this.#stderr.slice(-3000)}` : ''].join('\n');
  }

  /** Sends `signal`; SIGKILLs after `graceMs` if it has not exited. Resolves with how it exited. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    graceMs = 10_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      const result = await this.exited;
      clearTimeout(timer);
      return result;
    }
    return this.exited;
  }
}
