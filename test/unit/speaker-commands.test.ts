import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ANNOUNCE_SCHEDULE_MS,
  announceCommands,
  commandText,
  isAlreadyGone,
  readInterfacesCommand,
  releaseCommand,
  takeCommand,
} from '../../src/speaker/commands.ts';

const v4 = { family: 'IPv4' as const, address: '198.51.100.200', interface: 'eth0' };
const v6 = { family: 'IPv6' as const, address: '2001:db8:51::200', interface: 'bond0.100' };

describe('speaker commands', () => {
  it('takes an IPv4 address as a /32 the kernel never uses as a source, with a lifetime', () => {
    assert.equal(
      commandText(takeCommand(v4, 4)),
      'ip -4 addr replace 198.51.100.200/32 dev eth0 valid_lft 4 preferred_lft 0',
    );
  });

  it('takes an IPv6 address as a /128 without duplicate address detection', () => {
    assert.equal(
      commandText(takeCommand(v6, 3)),
      'ip -6 addr replace 2001:db8:51::200/128 dev bond0.100 valid_lft 3 preferred_lft 0 nodad',
    );
  });

  it('refuses a lifetime the kernel would read as something else', () => {
    for (const bad of [0, -1, 2.5, Number.NaN]) assert.throws(() => takeCommand(v4, bad), RangeError);
  });

  it('releases exactly the host address it took', () => {
    assert.equal(commandText(releaseCommand(v4)), 'ip -4 addr del 198.51.100.200/32 dev eth0');
    assert.equal(commandText(releaseCommand(v6)), 'ip -6 addr del 2001:db8:51::200/128 dev bond0.100');
  });

  it('knows the kernel’s answer for an address already gone', () => {
    assert.equal(isAlreadyGone('Error: ipv4: Address not found.\n'), true);
    assert.equal(isAlreadyGone('Error: ipv6: address not found.\n'), true);
    assert.equal(isAlreadyGone('RTNETLINK answers: Cannot assign requested address\n'), true);
    assert.equal(isAlreadyGone('Cannot find device "eth9"\n'), false);
    assert.equal(isAlreadyGone('RTNETLINK answers: Operation not permitted\n'), false);
  });

  it('announces IPv4 with a gratuitous ARP request and reply', () => {
    assert.deepEqual(announceCommands(v4).map(commandText), [
      'arping -q -U -c 1 -I eth0 198.51.100.200',
      'arping -q -A -c 1 -I eth0 198.51.100.200',
    ]);
  });

  it('announces IPv6 with an unsolicited neighbour advertisement that overrides caches', () => {
    assert.deepEqual(announceCommands(v6).map(commandText), [
      'na6 -i bond0.100 -s 2001:db8:51::200 -d ff02::1 -t 2001:db8:51::200 -o -e',
    ]);
  });

  it('repeats announcements for about five seconds, the first at once', () => {
    assert.equal(ANNOUNCE_SCHEDULE_MS[0], 0);
    assert.ok(ANNOUNCE_SCHEDULE_MS.every((t, i) => i === 0 || t > (ANNOUNCE_SCHEDULE_MS[i - 1] ?? 0)));
    // Each repeat is more than the kernel's default ARP locktime (1 s) after the previous one.
    assert.ok(ANNOUNCE_SCHEDULE_MS.every((t, i) => i === 0 || t - (ANNOUNCE_SCHEDULE_MS[i - 1] ?? 0) > 1000));
    assert.ok((ANNOUNCE_SCHEDULE_MS.at(-1) ?? 0) <= 5000);
  });

  it('reads the interfaces as JSON', () => {
    assert.equal(commandText(readInterfacesCommand()), 'ip -j addr show');
  });
});
