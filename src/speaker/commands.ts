// Pure: the commands that make the kernel own an address and tell the neighbours. Node.js has no raw
// sockets, so the speaker lets the kernel answer ARP/NDP for the address and uses Debian's tools to send
// the unsolicited announcements:
//   ip (iproute2)          add/refresh/remove the address, read the interfaces as JSON
//   arping (iputils-arping) gratuitous ARP, both as a request (-U) and as a reply (-A): some neighbours
//                          honour only one kind
//   na6 (ipv6toolkit)      unsolicited Neighbor Advertisement with the Override flag to ff02::1
// Commands are argument lists (no shell); interface names and addresses are validated before they get here.
import type { Family } from '../providers/pool/address-range.ts';

export interface Command {
  file: 'ip' | 'arping' | 'na6';
  args: string[];
}

export interface Placement {
  family: Family;
  /** Canonical address text. */
  address: string;
  interface: string;
}

/**
 * When the announcement is repeated after taking an address, in ms: a first one at once, then four more
 * 1.1 s apart (MetalLB's rhythm). The repeats reach neighbours that missed the first one and those whose
 * kernels ignore updates within their `locktime` (1 s by default) of the previous one.
 */
export const ANNOUNCE_SCHEDULE_MS: readonly number[] = [0, 1100, 2200, 3300, 4400];

const HOST_PREFIX: Record<Family, number> = { IPv4: 32, IPv6: 128 };

export function readInterfacesCommand(): Command {
  return { file: 'ip', args: ['-j', 'addr', 'show'] };
}

/**
 * Adds the address, or refreshes its lifetime when it is there. `valid_lft` is the fence against split
 * brain: the kernel drops the address by itself when the speaker stops refreshing it. `preferred_lft 0`
 * keeps it from being chosen as a source address; `nodad` makes an IPv6 address usable at once (the
 * election already decided that nobody else holds it).
 */
export function takeCommand(p: Placement, lifetimeSeconds: number): Command {
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1) {
    throw new RangeError(`an address lifetime must be a whole number of seconds ≥ 1, not ${lifetimeSeconds}`);
  }
  const args = [
    ...(p.family === 'IPv6' ? ['-6'] : ['-4']),
    'addr',
    'replace',
    `${p.address}/${HOST_PREFIX[p.family]}`,
    'dev',
    p.interface,
    'valid_lft',
    String(lifetimeSeconds),
    'preferred_lft',
    '0',
  ];
  if (p.family === 'IPv6') args.push('nodad');
  return { file: 'ip', args };
}

export function releaseCommand(p: Placement): Command {
  return {
    file: 'ip',
    args: [
      ...(p.family === 'IPv6' ? ['-6'] : ['-4']),
      'addr',
      'del',
      `${p.address}/${HOST_PREFIX[p.family]}`,
      'dev',
      p.interface,
    ],
  };
}

/** `ip addr del` of an address that is already gone: nothing left to do. */
export function isAlreadyGone(stderr: string): boolean {
  return /address not found|Cannot assign requested address/i.test(stderr);
}

/** One round of unsolicited announcements for a placement. */
export function announceCommands(p: Placement): Command[] {
  if (p.family === 'IPv4') {
    return [
      { file: 'arping', args: ['-q', '-U', '-c', '1', '-I', p.interface, p.address] },
      { file: 'arping', args: ['-q', '-A', '-c', '1', '-I', p.interface, p.address] },
    ];
  }
  return [
    {
      file: 'na6',
      // -s/-t: from and about the address; -d: to all nodes; -o: Override (replace the cached MAC);
      // -e: carry the interface's MAC in the target link-layer address option.
      args: ['-i', p.interface, '-s', p.address, '-d', 'ff02::1', '-t', p.address, '-o', '-e'],
    },
  ];
}

/** A command as a person would type it, for logs and error messages. */
export function commandText(c: Command): string {
  return [c.file, ...c.args].join(' ');
}
