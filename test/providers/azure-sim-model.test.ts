// The ARM simulator's pure parts, without a server: path routing, address allocation, preconditions, fault
// selection, settings and seed parsing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lowestFree, nextFree, parsePrefix } from '../sim/azure/addresses.ts';
import { isArmError } from '../sim/azure/arm-errors.ts';
import { isValidResourceName, parseResourceId, routeArmPath } from '../sim/azure/arm-ids.ts';
import { parseSeed } from '../sim/azure/control-api.ts';
import { checkFaultRule, Faults } from '../sim/azure/faults.ts';
import { checkPreconditions } from '../sim/azure/network-service.ts';
import { AZURE_LIMITS, DEFAULT_SETTINGS, patchSettings, type Settings } from '../sim/azure/settings.ts';

const SUB = '/subscriptions/s1';

describe('routeArmPath', () => {
  it('maps ARM paths case-insensitively to resources, children, lists and operations', () => {
    assert.deepEqual(routeArmPath(`${SUB}/resourceGroups/RG/providers/Microsoft.Network/loadBalancers/lb`), {
      kind: 'resource',
      subscriptionId: 's1',
      resourceGroup: 'RG',
      type: 'loadBalancers',
      name: 'lb',
    });
    assert.deepEqual(
      routeArmPath(`${SUB}/resourcegroups/rg/providers/microsoft.network/LOADBALANCERS/lb/Probes/p%201`),
      {
        kind: 'resource',
        subscriptionId: 's1',
        resourceGroup: 'rg',
        type: 'loadBalancers',
        name: 'lb',
        child: { type: 'probes', name: 'p 1' },
      },
    );
    assert.deepEqual(routeArmPath(`${SUB}/providers/Microsoft.Network/publicIPAddresses`), {
      kind: 'list',
      subscriptionId: 's1',
      type: 'publicIPAddresses',
    });
    assert.deepEqual(
      routeArmPath(
        `${SUB}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n/securityRules`,
      ),
      {
        kind: 'listChildren',
        subscriptionId: 's1',
        resourceGroup: 'rg',
        type: 'networkSecurityGroups',
        name: 'n',
        childType: 'securityRules',
      },
    );
    assert.deepEqual(
      routeArmPath(`${SUB}/providers/Microsoft.Network/locations/eastus/operationResults/abc`),
      {
        kind: 'operation',
        subscriptionId: 's1',
        location: 'eastus',
        operationId: 'abc',
        flavor: 'result',
      },
    );
    assert.equal(
      routeArmPath(`${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm`).kind,
      'notModelled',
    );
    assert.equal(
      routeArmPath(`${SUB}/resourceGroups/rg/providers/Microsoft.Network/natGateways/n`).kind,
      'notModelled',
    );
    assert.equal(
      routeArmPath(`${SUB}/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb/securityRules/x`)
        .kind,
      'notModelled',
    );
    assert.equal(routeArmPath('/tenants/x').kind, 'notFound');
    assert.equal(
      routeArmPath(`${SUB}/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/%E0%A4%A`).kind,
      'notFound',
    );
  });

  it('parses references; names follow ARM’s rule', () => {
    assert.deepEqual(
      parseResourceId(`${SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s`),
      {
        subscriptionId: 's1',
        resourceGroup: 'rg',
        type: 'virtualNetworks',
        name: 'v',
        child: { type: 'subnets', name: 's' },
      },
    );
    assert.equal(parseResourceId('not an id'), undefined);
    for (const good of ['a', 'a_', 'k8s-azure-lb_allow_IPv4_0f1e', 'x'.repeat(80), 'a.b-c_d'])
      assert.ok(isValidResourceName(good), good);
    for (const bad of ['', '-a', 'a-', 'a.', 'has space', 'x'.repeat(81), 'ü'])
      assert.ok(!isValidResourceName(bad), bad);
  });
});

describe('address allocation', () => {
  const prefix = (text: string) => {
    const p = parsePrefix(text);
    if ('error' in p) throw new Error(p.error);
    return p;
  };

  it('private: the lowest address after the four Azure reserves, never the last', () => {
    const subnet = prefix('10.0.0.0/29');
    assert.equal(lowestFree(subnet, new Set()), '10.0.0.4');
    assert.equal(lowestFree(subnet, new Set(['10.0.0.4', '10.0.0.5'])), '10.0.0.6');
    assert.equal(lowestFree(subnet, new Set(['10.0.0.4', '10.0.0.5', '10.0.0.6'])), undefined);
    assert.equal(lowestFree(prefix('fd00::/125'), new Set()), 'fd00::4');
  });

  it('public: next-fit after the cursor, wrapping, across ranges, skipping used addresses', () => {
    const ranges = [prefix('192.0.2.0/30'), prefix('198.51.100.0/30')];
    const first = nextFree(ranges, new Set(), undefined);
    assert.equal(first?.address, '192.0.2.1');
    const second = nextFree(ranges, new Set(['192.0.2.1']), first?.value);
    assert.equal(second?.address, '192.0.2.2');
    const third = nextFree(ranges, new Set(['192.0.2.1', '192.0.2.2']), second?.value);
    assert.equal(third?.address, '198.51.100.1', 'on to the next range');
    const released = nextFree(ranges, new Set(['192.0.2.2', '198.51.100.1', '198.51.100.2']), third?.value);
    assert.equal(
      released?.address,
      '192.0.2.1',
      'wraps around to a released address only when nothing is after the cursor',
    );
    assert.equal(
      nextFree(ranges, new Set(['192.0.2.1', '192.0.2.2', '198.51.100.1', '198.51.100.2']), undefined),
      undefined,
    );
  });
});

describe('checkPreconditions', () => {
  const id = '/x';
  it('follows If-Match / If-None-Match with weak comparison', () => {
    assert.equal(checkPreconditions(id, 'W/"a"', {}), undefined);
    assert.equal(checkPreconditions(id, 'W/"a"', { ifMatch: 'W/"a"' }), undefined);
    assert.equal(checkPreconditions(id, 'W/"a"', { ifMatch: '"a"' }), undefined);
    assert.equal(checkPreconditions(id, 'W/"a"', { ifMatch: '"b", W/"a"' }), undefined);
    assert.equal(checkPreconditions(id, 'W/"a"', { ifMatch: '*' }), undefined);
    assert.equal(checkPreconditions(id, 'W/"a"', { ifMatch: 'W/"b"' })?.status, 412);
    assert.equal(checkPreconditions(id, undefined, { ifMatch: '*' })?.status, 412);
    assert.equal(checkPreconditions(id, undefined, { ifNoneMatch: '*' }), undefined);
    assert.equal(checkPreconditions(id, 'W/"a"', { ifNoneMatch: '*' })?.code, 'PreconditionFailed');
  });
});

describe('Faults', () => {
  const call = { subscriptionId: 'S1', method: 'GET', resourceType: 'loadBalancers' };

  it('fires on the next N matching calls, then retires', () => {
    const faults = new Faults();
    faults.add({
      status: 503,
      nextCalls: 2,
      methods: ['get'],
      resourceTypes: ['LoadBalancers'],
      subscriptionId: 's1',
    });
    assert.equal(faults.pick({ ...call, method: 'PUT' }, 'before'), undefined);
    assert.equal(faults.pick({ ...call, subscriptionId: 's2' }, 'before'), undefined);
    assert.equal(faults.pick(call, 'after'), undefined);
    assert.equal(faults.pick(call, 'before')?.status, 503);
    assert.equal(faults.pick(call, 'before')?.code, 'ServiceUnavailable');
    assert.equal(faults.pick(call, 'before'), undefined);
    assert.deepEqual(faults.list(), []);
  });

  it('spreads a rate evenly and repeatably', () => {
    const faults = new Faults();
    faults.add({ status: 429, rate: 0.25, retryAfterSeconds: 3 });
    const fired = Array.from({ length: 8 }, () => faults.pick(call, 'before')?.retryAfterSeconds ?? 0);
    assert.deepEqual(fired, [0, 0, 0, 3, 0, 0, 0, 3]);
  });

  it('token buckets refill with time and tell how long to wait', () => {
    const faults = new Faults();
    faults.setThrottling(undefined, { reads: { capacity: 2, refillPerSecond: 0.5 } });
    assert.equal(faults.throttle(call, 0).error, undefined);
    assert.deepEqual(faults.throttle(call, 0).header, ['x-ms-ratelimit-remaining-subscription-reads', '0']);
    const limited = faults.throttle(call, 0).error;
    assert.deepEqual([limited?.status, limited?.retryAfterSeconds], [429, 2]);
    assert.equal(faults.throttle(call, 2000).error, undefined, 'one token back after 2 s');
    assert.equal(
      faults.throttle({ ...call, method: 'PUT' }, 2000).error,
      undefined,
      'writes are not limited here',
    );
  });

  it('rejects rules that make no sense', () => {
    assert.match(checkFaultRule({ status: 200 }) ?? '', /400-599/);
    assert.match(checkFaultRule({ status: 429, rate: 2 }) ?? '', /rate/);
    assert.match(checkFaultRule({ status: 429, when: 'after' }) ?? '', /never sent after/);
    assert.equal(checkFaultRule({ status: 500, when: 'after', nextCalls: 1 }), undefined);
  });
});

describe('settings and seeds', () => {
  const base: Settings = { ...DEFAULT_SETTINGS, limits: { ...AZURE_LIMITS } };

  it('patchSettings checks every value', () => {
    const next = patchSettings(base, { provisioningDelayMs: 5, limits: { securityRulesPerGroup: 10 } });
    assert.ok(!('error' in next));
    assert.equal(next.limits.securityRulesPerGroup, 10);
    assert.equal(next.limits.rulesPerLoadBalancer, 1500);
    assert.match(
      JSON.stringify(patchSettings(base, { limits: { bogus: 1 } as never })),
      /unknown limit bogus/,
    );
    assert.match(JSON.stringify(patchSettings(base, { pollRetryAfterSeconds: 1.5 })), /whole number/);
    assert.match(JSON.stringify(patchSettings(base, { listPageSize: 0 })), /listPageSize/);
  });

  it('parseSeed says what is wrong in untrusted JSON', () => {
    assert.throws(() => parseSeed([]), /seed must be a JSON object/);
    assert.throws(
      () => parseSeed({ resourceGroups: [{ name: 5, location: 'x' }] }),
      /resourceGroups\[0\]\.name must be a string/,
    );
    assert.throws(
      () => parseSeed({ publicIPAddresses: [{ resourceGroup: 'r', name: 'p', version: 'IPv5' }] }),
      /IPv4 or IPv6/,
    );
    const seed = parseSeed({
      virtualNetworks: [
        {
          resourceGroup: 'r',
          name: 'v',
          addressPrefixes: ['10.0.0.0/16'],
          subnets: [{ name: 's', addressPrefix: '10.0.0.0/24' }],
        },
      ],
    });
    assert.deepEqual(seed.virtualNetworks?.[0]?.subnets, [{ name: 's', addressPrefix: '10.0.0.0/24' }]);
    assert.ok(!isArmError(seed));
  });
});
