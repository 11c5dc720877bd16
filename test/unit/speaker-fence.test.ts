import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSpeakerConfig } from '../../src/config/speaker-config.ts';
import {
  addressLifetimeSeconds,
  fenceDeadline,
  type HeartbeatTiming,
  holdMs,
  KERNEL_EXPIRY_SLACK_MS,
  leaseReleaseDelayMs,
  mayAnnounce,
} from '../../src/speaker/fence.ts';

const DEFAULTS: HeartbeatTiming = { durationMs: 6000, intervalMs: 2000 };
const T = 1_000_000;

/** Every timing the configuration accepts, from a grid. */
function acceptedTimings(): HeartbeatTiming[] {
  const out: HeartbeatTiming[] = [];
  for (const d of [3, 4, 5, 6, 7, 10, 15, 30]) {
    for (const r of [0.5, 1, 1.5, 2, 2.5, 3, 5, 10]) {
      try {
        const config = loadSpeakerConfig(
          [
            '--node-name',
            'n',
            '--namespace',
            'x',
            '--heartbeat-duration',
            String(d),
            '--heartbeat-interval',
            String(r),
          ],
          {},
        );
        out.push(config.heartbeat);
      } catch {
        // Rejected: not a timing the speaker runs with.
      }
    }
  }
  return out;
}

describe('fence: address lifetimes', () => {
  it('with the defaults gives 4 s right after a renewal, less as it ages, none once it is stale', () => {
    assert.equal(addressLifetimeSeconds(DEFAULTS, T, T + 30), 4);
    assert.equal(addressLifetimeSeconds(DEFAULTS, T, T + 999), 4);
    assert.equal(addressLifetimeSeconds(DEFAULTS, T, T + 1500), 3);
    assert.equal(addressLifetimeSeconds(DEFAULTS, T, T + 3999), 1);
    assert.equal(addressLifetimeSeconds(DEFAULTS, T, T + 4001), 0);
    assert.equal(addressLifetimeSeconds(DEFAULTS, undefined, T), 0);
  });

  it('never lets the kernel keep an address until another node may take it (every accepted timing)', () => {
    const timings = acceptedTimings();
    assert.ok(timings.length > 10);
    for (const timing of timings) {
      for (let elapsed = 0; elapsed < timing.durationMs; elapsed += 10) {
        const lifetime = addressLifetimeSeconds(timing, T, T + elapsed);
        if (lifetime < 1) continue;
        // Set at T + elapsed, removed by the kernel at most a second after it expires...
        const latestRemoval = T + elapsed + lifetime * 1000 + KERNEL_EXPIRY_SLACK_MS;
        // ...before any other speaker may take over (D after it saw a renewal that began at T or later).
        assert.ok(latestRemoval <= T + timing.durationMs, `${JSON.stringify(timing)} elapsed ${elapsed}`);
        assert.ok(lifetime <= holdMs(timing) / 1000);
      }
    }
  });

  it('outlives a renewal that comes up to a second late (every accepted timing)', () => {
    for (const timing of acceptedTimings()) {
      // Refreshed within a second of the renewal's start; the next refresh comes at most R + 1 s later.
      for (let elapsed = 0; elapsed < 1000; elapsed += 10) {
        const lifetime = addressLifetimeSeconds(timing, T, T + elapsed);
        assert.ok(
          lifetime * 1000 >= timing.intervalMs + 1000 - elapsed,
          `${JSON.stringify(timing)} elapsed ${elapsed}`,
        );
      }
    }
  });
});

describe('fence: may this speaker announce', () => {
  it('only while its renewal is recent AND its own watch has shown a renewal recently', () => {
    assert.equal(mayAnnounce(DEFAULTS, T, T + 20, T + 100), true);
    assert.equal(mayAnnounce(DEFAULTS, T, T + 20, T + 3999), true);
    assert.equal(mayAnnounce(DEFAULTS, T, T + 20, T + 4000), false, 'renewal too old');
    // Renewals succeed, but the watch stopped showing them.
    assert.equal(mayAnnounce(DEFAULTS, T + 6000, T, T + 6100), false);
    assert.equal(mayAnnounce(DEFAULTS, undefined, T, T), false);
    assert.equal(mayAnnounce(DEFAULTS, T, undefined, T), false);
  });

  it('knows when that ends', () => {
    assert.equal(fenceDeadline(DEFAULTS, T, T + 20), T + 4000);
    assert.equal(fenceDeadline(DEFAULTS, T + 2000, T + 20), T + 4020);
    assert.equal(fenceDeadline(DEFAULTS, T, undefined), 4000);
  });
});

describe('fence: releasing the heartbeat on shutdown', () => {
  const timing = { durationMs: 6000, intervalMs: 2000 };
  it('deletes the Lease at once when every address was removed', () => {
    assert.equal(leaseReleaseDelayMs(timing, 10_000, true, 10_500), 0);
  });
  it('otherwise waits until the kernel has surely dropped the address (D after the renewal began)', () => {
    assert.equal(leaseReleaseDelayMs(timing, 10_000, false, 10_500), 5500);
    assert.equal(leaseReleaseDelayMs(timing, 10_000, false, 17_000), 0);
    // Never before any address this run gave a lifetime has expired, for every accepted timing.
    for (const t of [
      timing,
      { durationMs: 4000, intervalMs: 1000 },
      { durationMs: 30_000, intervalMs: 5000 },
    ]) {
      const renewed = 50_000;
      const lifetime = addressLifetimeSeconds(t, renewed, renewed);
      const releaseAt = renewed + leaseReleaseDelayMs(t, renewed, false, renewed);
      assert.ok(releaseAt >= renewed + lifetime * 1000 + KERNEL_EXPIRY_SLACK_MS, JSON.stringify(t));
    }
  });
});
