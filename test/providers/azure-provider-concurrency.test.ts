// The Azure provider under load and trouble, through the real SDK against the ARM simulator: many Services on one
// load balancer at once (no lost frontend, few writes), someone else writing the load balancer between Sluice's
// read and its write (412 → read again, merge again, nobody's change lost), throttling (Retry-After honoured by
// every caller: no call of the throttled kind until it passes), 5xx and lost answers, Azure's limits (the Service
// that does not fit is refused alone, before anything is made for it), and DefaultAzureCredential with Workload
// Identity against the simulator's Microsoft Entra ID stand-in.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDefaultHttpClient } from '@azure/core-rest-pipeline';
import type { LoadBalancerIntent, TargetNode } from '../../src/intent/types.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { ArmCallEvent, HttpClient } from '../../src/providers/azure/client.ts';
import { AZURE_LIMITS } from '../../src/providers/azure/model.ts';
import { AzureProvider, type AzureProviderOptions } from '../../src/providers/azure/provider.ts';
import type { ApplyResult } from '../../src/providers/provider.ts';
import { plainIntent } from '../harness/intent-fixture.ts';
import type { JsonObject } from '../sim/azure/json.ts';
import {
  FAST,
  LOCATION,
  NODES,
  publicIp,
  RG,
  startTestSimulator,
  type TestSimulator,
} from '../sim/azure/testing.ts';

const CLUSTER = 'kube';
const A = 'service.beta.kubernetes.io/';
const NODE_LIST: TargetNode[] = NODES.map((ip, i) => ({
  name: `node-${i}`,
  labels: {},
  internalAddresses: [ip],
}));

let t: TestSimulator;
const providers: AzureProvider[] = [];

before(async () => {
  t = await startTestSimulator({ settings: { provisioningDelayMs: 150 } });
});
afterEach(async () => {
  for (const p of providers.splice(0)) await p.idle();
  t.sim.reset();
});
after(async () => {
  await t.sim.stop();
});

function newProvider(extra: Partial<AzureProviderOptions> = {}): AzureProvider {
  const provider = new AzureProvider({
    subscriptionId: t.sim.subscriptionId,
    resourceGroup: RG,
    location: LOCATION,
    vnetName: 'vnet',
    subnetName: 'nodes',
    cluster: CLUSTER,
    logger: createLogger(process.env.SLUICE_TEST_LOG ?? 'silent'),
    endpoint: t.sim.endpoint,
    credential: t.sim.credential,
    caCertificate: t.sim.caCertificate,
    requeueMs: 60,
    pollIntervalMs: 25,
    coalesceMs: 20,
    readMaxAgeMs: 0,
    retry: { baseDelayMs: 20, maxDelayMs: 200 },
    ...extra,
  });
  providers.push(provider);
  return provider;
}

function uid(n: number): string {
  return `${String(n).padStart(8, '0')}-aaaa-4bbb-8ccc-dddddddddddd`;
}

function frontendOf(n: number): string {
  return `a${uid(n).replace(/-/g, '')}`;
}

function service(n: number, overrides: Partial<LoadBalancerIntent> = {}): LoadBalancerIntent {
  return plainIntent({
    service: { namespace: 'load', name: `svc-${n}`, uid: uid(n) },
    ports: [{ name: 'http', protocol: 'TCP', port: 80 + (n % 1000), nodePort: 30000 + n }],
    nodes: NODE_LIST,
    ...overrides,
  });
}

async function reconcile(provider: AzureProvider, intent: LoadBalancerIntent): Promise<ApplyResult> {
  const observed = await provider.observe(intent);
  return provider.apply(intent, provider.plan(intent, observed));
}

async function settle(
  provider: AzureProvider,
  intent: LoadBalancerIntent,
  rounds = 200,
): Promise<ApplyResult> {
  for (let i = 0; i < rounds; i++) {
    const result = await reconcile(provider, intent);
    if (result.kind !== 'pending') return result;
    await sleep(result.retryAfterMs);
  }
  assert.fail(`${intent.service.name} still pending after ${rounds} reconciles`);
}

async function removeUntilGone(provider: AzureProvider, intent: LoadBalancerIntent): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const result = await provider.remove(intent.service, intent.service.name);
    if (result.kind === 'gone') return;
    await sleep(result.retryAfterMs);
  }
  assert.fail(`${intent.service.name} not removed`);
}

function props(resource: JsonObject | undefined): JsonObject {
  return (resource?.properties as JsonObject | undefined) ?? {};
}

function frontends(lbName = CLUSTER): string[] {
  const lb = t.sim.resource(t.ids.lb(lbName));
  return ((props(lb).frontendIPConfigurations as JsonObject[] | undefined) ?? []).map((f) => String(f.name));
}

function publicIpNames(): string[] {
  return (
    t.sim.snapshot().subscriptions[0]?.resourceGroups.find((g) => g.name === RG)?.publicIPAddresses ?? []
  ).map((p) => String(p.name));
}

function count(call: string): number {
  return t.sim.counters().byCall[call] ?? 0;
}

/** A transport that records when each request was sent, and when the client first saw a 429. */
function recordingTransport(): {
  httpClient: HttpClient;
  sends: Array<{ at: number; method: string; url: string }>;
  throttledSeenAt: () => number | undefined;
} {
  const inner = createDefaultHttpClient();
  const sends: Array<{ at: number; method: string; url: string }> = [];
  let seen: number | undefined;
  return {
    sends,
    throttledSeenAt: () => seen,
    httpClient: {
      async sendRequest(request) {
        sends.push({ at: Date.now(), method: request.method, url: request.url });
        const response = await inner.sendRequest(request);
        if (response.status === 429 && seen === undefined) seen = Date.now();
        return response;
      },
    },
  };
}

/** Requests sent after the client saw the 429, before Retry-After (ms) had passed (a little slack for timers). */
function sentWhileThrottled(
  recorder: ReturnType<typeof recordingTransport>,
  retryAfterMs: number,
): Array<{ at: number; method: string; url: string }> {
  const seenAt = recorder.throttledSeenAt();
  assert.ok(seenAt !== undefined, 'ARM throttled a call');
  return recorder.sends.filter((s) => s.at > seenAt && s.at < seenAt + retryAfterMs - 20);
}

describe('many Services on one load balancer', () => {
  it('20 Services at once: every frontend lands, with far fewer load balancer writes than Services', async () => {
    // The provider's default freshness of shared reads, a shorter requeue than the default 1.5 s.
    const provider = newProvider({ readMaxAgeMs: 1000, requeueMs: 250 });
    const intents = Array.from({ length: 20 }, (_, i) => service(i + 1));
    const started = Date.now();
    const results = await Promise.all(intents.map((i) => settle(provider, i)));
    const elapsed = Date.now() - started;
    await provider.idle();
    const ips = results.map((r) =>
      r.kind === 'ready' ? r.ingress[0]?.ip : `not ready: ${JSON.stringify(r)}`,
    );
    assert.ok(
      ips.every((ip) => ip !== undefined && /^198\.1[89]\./.test(ip)),
      ips.join(', '),
    );
    assert.equal(new Set(ips).size, 20, 'each Service its own address');
    assert.deepEqual(
      frontends().sort(),
      intents.map((i) => frontendOf(Number(i.service.name.slice(4)))).sort(),
    );
    const lbPuts = count('PUT loadBalancers');
    const nsgPuts = count('PUT networkSecurityGroups');
    const stats = provider.writerStats();
    console.log(
      `  20 Services → ready in ${elapsed} ms; PUT loadBalancers: ${lbPuts}, PUT networkSecurityGroups: ${nsgPuts}, ` +
        `PUT publicIPAddresses: ${count('PUT publicIPAddresses')}, GET loadBalancers: ${count('GET loadBalancers')}, ` +
        `ARM calls in all: ${t.sim.counters().total}; writer: ${JSON.stringify(stats[`load balancer ${CLUSTER}`])}`,
    );
    assert.ok(lbPuts < 20, `coalesced: ${lbPuts} load balancer writes for 20 Services`);
    assert.ok(nsgPuts < 20, `coalesced: ${nsgPuts} NSG writes for 20 Services`);

    // And all of them removed at once: nothing left, again in a few writes.
    t.sim.resetCounters();
    await Promise.all(intents.map((i) => removeUntilGone(provider, i)));
    assert.equal(t.sim.resource(t.ids.lb(CLUSTER)), undefined);
    assert.deepEqual(publicIpNames(), []);
    console.log(
      `  20 Services removed: PUT loadBalancers ${count('PUT loadBalancers')}, DELETE loadBalancers ` +
        `${count('DELETE loadBalancers')}, PUT networkSecurityGroups ${count('PUT networkSecurityGroups')}, ` +
        `DELETE publicIPAddresses ${count('DELETE publicIPAddresses')}`,
    );
  });

  it('someone else writes the load balancer between our read and our write: 412, read again, both changes kept', async () => {
    // A transport that, before Sluice's first write of the load balancer with a second Service, lets another
    // client add its own frontend to the load balancer (so Sluice's If-Match is stale when its PUT arrives).
    const inner = createDefaultHttpClient();
    let interposed = false;
    let armed = false;
    const statuses: number[] = [];
    const httpClient: HttpClient = {
      async sendRequest(request) {
        const isLbPut = request.method === 'PUT' && /\/loadBalancers\/kube\?/.test(request.url);
        if (isLbPut && armed && !interposed) {
          interposed = true;
          const lb = await t.client.loadBalancers.get(RG, CLUSTER);
          const pip = await t.client.publicIPAddresses.beginCreateOrUpdateAndWait(
            RG,
            'foreign-ip',
            publicIp(),
            FAST,
          );
          await t.client.loadBalancers.beginCreateOrUpdateAndWait(
            RG,
            CLUSTER,
            {
              ...lb,
              frontendIPConfigurations: [
                ...(lb.frontendIPConfigurations ?? []),
                { name: 'someone-elses', publicIPAddress: { id: pip.id ?? '' } },
              ],
            },
            FAST,
          );
        }
        const response = await inner.sendRequest(request);
        if (isLbPut) statuses.push(response.status);
        return response;
      },
    };
    const provider = newProvider({ httpClient });
    assert.equal((await settle(provider, service(1))).kind, 'ready');
    armed = true;
    assert.equal((await settle(provider, service(2))).kind, 'ready');
    await provider.idle();
    assert.ok(interposed);
    assert.ok(statuses.includes(412), `Sluice's stale write was refused: ${statuses.join(', ')}`);
    assert.deepEqual(frontends().sort(), [frontendOf(1), frontendOf(2), 'someone-elses'].sort());
    assert.ok((provider.writerStats()[`load balancer ${CLUSTER}`]?.conflicts ?? 0) >= 1);

    // Sluice's removal leaves what is not its own.
    await removeUntilGone(provider, service(1));
    await removeUntilGone(provider, service(2));
    assert.deepEqual(frontends(), ['someone-elses']);
    assert.ok(publicIpNames().includes('foreign-ip'));
  });
});

describe('throttling and faults', () => {
  it('a 429 on a write with Retry-After: no write of the subscription goes out until it has passed; then all converge', async () => {
    const events: ArmCallEvent[] = [];
    const recorder = recordingTransport();
    const provider = newProvider({
      maxGateWaitMs: 300,
      onCall: (e) => events.push(e),
      httpClient: recorder.httpClient,
    });
    t.sim.faults.add({
      status: 429,
      retryAfterSeconds: 2,
      nextCalls: 1,
      methods: ['PUT'],
      resourceTypes: ['loadBalancers'],
    });
    const intents = Array.from({ length: 6 }, (_, i) => service(40 + i));
    const results = await Promise.all(intents.map((i) => settle(provider, i)));
    assert.ok(
      results.every((r) => r.kind === 'ready'),
      JSON.stringify(results),
    );
    const during = sentWhileThrottled(recorder, 2000);
    const writesDuring = during.filter((r) => r.method !== 'GET');
    console.log(
      `  writes throttled for 2 s: ${writesDuring.length} writes and ${during.length - writesDuring.length} reads sent in the window`,
    );
    assert.deepEqual(writesDuring, [], 'no write while throttled');
    assert.ok(
      events.some((e) => e.outcome === 'throttled' && e.api === 'PUT loadBalancers'),
      'reported to metrics',
    );
    assert.equal(frontends().length, 6);
  });

  it('a 429 on reads: reconciles answer Throttled at once without calling ARM, and go on after Retry-After', async () => {
    const recorder = recordingTransport();
    const provider = newProvider({ maxGateWaitMs: 300, httpClient: recorder.httpClient });
    t.sim.faults.add({
      status: 429,
      retryAfterSeconds: 2,
      nextCalls: 1,
      methods: ['GET'],
      resourceTypes: ['loadBalancers'],
    });
    const intents = Array.from({ length: 4 }, (_, i) => service(50 + i));
    const first = await Promise.all(intents.map((i) => reconcile(provider, i)));
    assert.ok(
      first.some((r) => r.kind === 'pending' && r.reason === 'Throttled' && r.retryAfterMs > 1000),
      JSON.stringify(first),
    );
    // Everyone keeps reconciling during the window; the gate answers for ARM.
    let answered = 0;
    for (let i = 0; i < 5; i++) {
      const again = await Promise.all(intents.map((s) => reconcile(provider, s)));
      answered += again.filter((r) => r.kind === 'pending' && r.reason === 'Throttled').length;
      await sleep(100);
    }
    const readsDuring = sentWhileThrottled(recorder, 2000).filter((r) => r.method === 'GET');
    console.log(
      `  reads throttled for 2 s: ${answered} reconciles answered Throttled, ${readsDuring.length} reads sent in the window`,
    );
    assert.deepEqual(readsDuring, []);
    assert.equal(answered, 20);
    const results = await Promise.all(intents.map((i) => settle(provider, i)));
    assert.ok(
      results.every((r) => r.kind === 'ready'),
      JSON.stringify(results),
    );
  });

  it('5xx answers, and writes that took effect though the answer was lost: retried, exactly one of everything', async () => {
    const provider = newProvider();
    t.sim.faults.add({ status: 500, rate: 0.3, methods: ['GET', 'PUT', 'DELETE'] });
    t.sim.faults.add({
      status: 502,
      rate: 0.5,
      when: 'after',
      methods: ['PUT'],
      resourceTypes: ['loadBalancers'],
    });
    const intents = Array.from({ length: 5 }, (_, i) => service(60 + i));
    const results = await Promise.all(intents.map((i) => settle(provider, i)));
    assert.ok(
      results.every((r) => r.kind === 'ready'),
      JSON.stringify(results),
    );
    await provider.idle();
    t.sim.faults.clear();
    assert.equal(frontends().length, 5);
    assert.equal(publicIpNames().length, 5);
    console.log(`  faults answered: ${t.sim.counters().faulted}`);
    assert.ok(t.sim.counters().faulted > 0);
  });
});

describe("Azure's limits", () => {
  it('frontends: the Services that do not fit are refused alone (LimitExceeded), before anything is created for them', async () => {
    const limits = { ...AZURE_LIMITS, frontendsPerLoadBalancer: 3 };
    t.sim.updateSettings({ limits: { frontendIPConfigurationsPerLoadBalancer: 3 } });
    const provider = newProvider({ limits });
    const first = [1, 2, 3].map((n) => service(70 + n));
    assert.ok((await Promise.all(first.map((i) => settle(provider, i)))).every((r) => r.kind === 'ready'));
    const fourth = await settle(provider, service(74));
    assert.equal(fourth.kind, 'failed');
    if (fourth.kind === 'failed') {
      assert.equal(fourth.reason, 'LimitExceeded');
      assert.match(
        fourth.message,
        /load balancer kube would have 4 frontend IP configurations; Azure allows 3/,
      );
    }
    assert.ok(!publicIpNames().includes(`${CLUSTER}-${frontendOf(74)}`), 'no public IP made for it');
    assert.equal(frontends().length, 3);
  });

  it('frontends, Services arriving together: exactly as many fit as the limit allows, the others are refused', async () => {
    const limits = { ...AZURE_LIMITS, frontendsPerLoadBalancer: 3 };
    t.sim.updateSettings({ limits: { frontendIPConfigurationsPerLoadBalancer: 3 } });
    const provider = newProvider({ limits });
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => settle(provider, service(80 + n))));
    const kinds = results.map((r) => (r.kind === 'failed' ? r.reason : r.kind)).sort();
    assert.deepEqual(kinds, ['LimitExceeded', 'LimitExceeded', 'ready', 'ready', 'ready']);
    assert.equal(frontends().length, 3);
  });

  it('NSG rules: a Service whose rules would not fit is refused before its frontend is written', async () => {
    const limits = { ...AZURE_LIMITS, securityRulesPerGroup: 2 };
    const provider = newProvider({ limits });
    const result = await settle(
      provider,
      service(90, {
        sourceRanges: ['203.0.113.0/24'],
        sourceRangesField: 'spec.loadBalancerSourceRanges',
        annotations: {
          [`${A}azure-allowed-service-tags`]: 'AzureCloud',
          [`${A}azure-deny-all-except-load-balancer-source-ranges`]: 'true',
        },
      }),
    );
    assert.equal(result.kind, 'failed');
    if (result.kind === 'failed') {
      assert.equal(result.reason, 'LimitExceeded');
      assert.match(
        result.message,
        /network security group cluster-nsg would have 3 security rules; Azure allows 2/,
      );
    }
    assert.equal(t.sim.resource(t.ids.lb(CLUSTER)), undefined, 'no load balancer written');
    assert.deepEqual(publicIpNames(), []);
  });
});

describe('credentials', () => {
  it('without a credential: DefaultAzureCredential, here Workload Identity against the Entra ID stand-in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-wi-'));
    const saved = { ...process.env };
    try {
      writeFileSync(join(dir, 'token'), 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJzbHVpY2UifQ.');
      process.env.AZURE_FEDERATED_TOKEN_FILE = join(dir, 'token');
      process.env.AZURE_CLIENT_ID = '11111111-1111-1111-1111-111111111111';
      process.env.AZURE_TENANT_ID = '22222222-2222-2222-2222-222222222222';
      process.env.AZURE_AUTHORITY_HOST = t.sim.endpoint;
      const provider = newProvider({ credential: undefined });
      const result = await settle(provider, service(95));
      assert.equal(result.kind, 'ready', JSON.stringify(result));
      assert.equal(t.sim.counters().unauthenticated, 0);
    } finally {
      process.env = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
