// The L2 data plane, for real: two "node" network namespaces and a client namespace on one bridge, a
// `sluice speaker` in each node, a TCP name server in each node. The client connects to the LoadBalancer
// address and must reach the announcing node; when that node's speaker is killed, cut off, or stopped, the
// other node must take over and the client must reach it. Never two announcers at once in steady state.
//
// During every failover the client cannot resolve the address by itself (its neighbour solicitations are
// switched off, see L2Lab.stopClientResolving): the only thing that can move it to the new node is the new
// node's unsolicited announcement (gratuitous ARP, unsolicited NA). Without announcements the test fails.
//
// Needs root (network namespaces), iproute2, sysctl, arping, and the IPv6 announce tool the speaker uses.
// Prints the failover figures it measures; asserts nothing about speed.
import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { rankHash } from '../../src/speaker/election.ts';
import { type CleanUpStep, cleanUp, withCleanUp } from '../harness/clean-up.ts';
import { createReadyNode, L2Lab, type LabNode, type SpeakerSettings } from '../harness/l2-lab.ts';
import {
  type Announcement,
  announcementOf,
  type Failover,
  measureFailover,
  sampleHolders,
  waitForSteadyHolder,
} from '../harness/l2-measure.ts';
import { type NamespaceProcess, namespaceTestProblems } from '../harness/netns.ts';
import { testCluster } from '../harness/test-cluster.ts';
import {
  applyObject,
  clients,
  createPool,
  eventsFor,
  installCrds,
  kubectl,
  SluiceProcess,
  waitFor,
  waitForAddress,
} from './support.ts';

const PID = process.pid;
const CLASS = 'sluice.dev/e2e-l2';
const NS = `e2e-l2-${PID}`;
const POOL = `e2e-l2-${PID}`;
const POOL6 = `e2e-l2-v6-${PID}`;
const ADVERTISEMENT = `e2e-l2-${PID}`;
const SERVICE = 'web';
const SERVICE6 = 'web6';
const PORT = 8080;
const POOL_RANGE = '198.51.100.200-198.51.100.209';
const POOL6_PREFIX = '2001:db8:51::2';
const POOL6_RANGE = '2001:db8:51::200-2001:db8:51::209';
// The node-selection cases have their own Services, each asking for its own address of POOL (the others
// take theirs from the start of the range), so they never move the address the failover tests use.
const LOCAL_SERVICE = 'local';
const LOCAL_ADDRESS = '198.51.100.207';
const EXCLUDE_SERVICE = 'spread';
const EXCLUDE_ADDRESS = '198.51.100.208';
const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';
// The speaker's defaults. The fence (how long an address outlives its speaker's last renew) is D − R.
const HEARTBEAT_DURATION = 6;
const HEARTBEAT_INTERVAL = 2;
const FENCE_SECONDS = HEARTBEAT_DURATION - HEARTBEAT_INTERVAL;
/** Generous: the suite may run on a loaded box. Nothing here is a speed assertion. */
const FAILOVER_WAIT_MS = 90_000;

const cluster = testCluster();
const api = clients(cluster.kubeconfigPath);
const leases = api.kc.makeApiClient(CoordinationV1Api);
const speakers: SpeakerSettings = {
  namespace: NS,
  loadBalancerClass: CLASS,
  heartbeatDurationSeconds: HEARTBEAT_DURATION,
  heartbeatIntervalSeconds: HEARTBEAT_INTERVAL,
};

let lab: L2Lab | undefined;
let controller: SluiceProcess | undefined;
let probe: NamespaceProcess | undefined;
let vip = '';
const nodeNames: string[] = [];
const figures: string[] = [];

function theLab(): L2Lab {
  if (!lab) throw new Error('the lab was not built (see the before hook)');
  return lab;
}

function theProbe(): NamespaceProcess {
  if (!probe) throw new Error('no client probe running');
  return probe;
}

async function leaseExists(node: string, namespace: string): Promise<boolean> {
  try {
    await leases.readNamespacedLease({ name: `sluice-speaker-${node}`, namespace });
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return false;
    throw error;
  }
}

/** How long ago the node's speaker last renewed its heartbeat Lease, by the Lease's renewTime. */
async function heartbeatAgeMs(node: string, namespace: string): Promise<number | undefined> {
  const lease = await leases.readNamespacedLease({ name: `sluice-speaker-${node}`, namespace });
  const renewed = lease.spec?.renewTime;
  return renewed ? Date.now() - new Date(renewed).getTime() : undefined;
}

function speakerTails(): string {
  return theLab()
    .nodes.map(
      (n) =>
        `--- ${n.name} speaker (${n.speaker?.running ? 'running' : 'not running'}):\n${n.speaker?.tail(12) ?? ''}`,
    )
    .join('\n');
}

/** Starts the speakers that are not running (with these settings). */
async function ensureSpeakers(settings: SpeakerSettings): Promise<void> {
  for (const node of theLab().nodes) {
    if (!node.speaker?.running) await theLab().startSpeaker(node, settings);
  }
}

/**
 * Waits for steady state on `address` (see waitForSteadyHolder: one holder, unchanged for a 4 s window of
 * samples, the L2Announcement naming it, the client reaching it) and checks the announcement's content.
 * Windows in which the address moved (a node rejoined and won it back) are reported, with any sample that
 * saw two holders during such a handover.
 */
async function steadyHolder(
  t: TestContext,
  address: string,
  announcement: { namespace: string; name: string },
): Promise<LabNode> {
  const steady = await waitForSteadyHolder(
    theLab(),
    theProbe(),
    address,
    async () => (await announcementOf(api.custom, announcement.namespace, announcement.name))?.node,
    4_000,
    FAILOVER_WAIT_MS,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${speakerTails()}`);
  });
  const { holder } = steady;
  const status = await announcementOf(api.custom, announcement.namespace, announcement.name);
  assert.equal(status?.node, holder.name);
  assert.deepEqual(status?.addresses, [address]);
  assert.deepEqual(status?.interfaces, ['eth0']);
  t.diagnostic(`steady: ${address} on ${holder.name} alone in ${steady.samples} samples over 4 s`);
  if (steady.unsettledWindows > 0) {
    const line =
      `handover before steady state (${address}): ${steady.unsettledWindows} window(s) saw it move; ` +
      `${steady.overlapSamples} sample(s) saw two holders`;
    figures.push(line);
    t.diagnostic(line);
  }
  return holder;
}

/** Runs `disrupt` against the holder and measures the failover (see l2-measure.ts). */
function failover(address: string, from: LabNode, disrupt: () => Promise<void>): Promise<Failover> {
  return measureFailover(theLab(), theProbe(), address, from, disrupt, FAILOVER_WAIT_MS).catch(
    (error: Error) => {
      throw new Error(`${error.message}\n${speakerTails()}`);
    },
  );
}

function report(t: TestContext, label: string, f: Failover): void {
  const line =
    `${label}: client answered by the new node after ${f.failoverMs} ms; address gone from the old node ` +
    `after ${f.goneMs} ms, on the new node after ${f.takenMs} ms; overlap in ${f.overlaps}/${f.samples} samples ` +
    `(heartbeat ${HEARTBEAT_DURATION}s/${HEARTBEAT_INTERVAL}s, fence ${FENCE_SECONDS}s)`;
  figures.push(line);
  t.diagnostic(line);
}

async function clientNeighbourText(address: string): Promise<string> {
  const neighbour = await theLab().clientNeighbour(address);
  const node = theLab().nodeWithMac(neighbour?.mac);
  return `${JSON.stringify(neighbour)}${node ? ` (${node.name})` : ''}`;
}

/** The client's neighbour entry for `address` points at `node`'s MAC address. */
async function assertClientSendsTo(t: TestContext, address: string, node: LabNode): Promise<void> {
  const neighbour = await theLab().clientNeighbour(address);
  t.diagnostic(
    `client neighbour entry for ${address}: ${JSON.stringify(neighbour)} (${node.name} is ${node.member.mac})`,
  );
  assert.equal(
    theLab().nodeWithMac(neighbour?.mac)?.name,
    node.name,
    `the client's neighbour entry for ${address} does not point at ${node.name}`,
  );
}

/**
 * A failover the client can follow only by the new node's announcement: with the client pointing at the
 * holder, its own resolution is switched off for the whole failover (and put back after), so its
 * neighbour entry keeps the old node's MAC until an unsolicited ARP/NA from the new node overrides it.
 * Then the client must reach the new node, and its entry must name the new node's MAC.
 */
async function announcedFailover(
  t: TestContext,
  address: string,
  from: LabNode,
  disrupt: () => Promise<void>,
): Promise<Failover> {
  const to = theLab().other(from);
  await assertClientSendsTo(t, address, from);
  const resumeResolving = await theLab().stopClientResolving();
  return withCleanUp(
    async () => {
      const f = await failover(address, from, disrupt).catch(async (error: Error) => {
        error.message =
          `the client never reached ${to.name} with only announcements to move it; its neighbour entry for ` +
          `${address}: ${await clientNeighbourText(address).catch((e: Error) => e.message)}\n${error.message}`;
        throw error;
      });
      await assertClientSendsTo(t, address, to);
      return f;
    },
    'restoring the client neighbour resolution',
    [['put back the client neighbour solicitation settings', resumeResolving]],
  );
}

/** Points the client probe at another address (one probe at a time: the helpers read "the" probe). */
async function aimProbeAt(address: string): Promise<void> {
  await probe?.stop();
  probe = theLab().startProbe(address, PORT);
}

/** A LoadBalancer Service of POOL asking for `address`, served on PORT by every node's name server. */
async function applyLoadBalancer(name: string, address: string, spec: Record<string, unknown> = {}) {
  await applyObject(cluster, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: NS,
      annotations: { 'sluice.dev/pool': POOL, 'sluice.dev/addresses': address },
    },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: CLASS,
      ports: [{ name: 'name', port: PORT, targetPort: PORT }],
      ...spec,
    },
  });
  const published = await waitForAddress(api.core, NS, name, 30_000);
  assert.equal(published, address, `${NS}/${name} got ${published}, not the address it asked for`);
}

/** The lab's nodes ordered by the election's hash for `address`: the first wins when both may announce. */
function byRank(address: string): [winner: LabNode, loser: LabNode] {
  const [first, second] = [...theLab().nodes].sort((x, y) =>
    rankHash(x.name, address) < rankHash(y.name, address) ? -1 : 1,
  );
  return [first!, second!];
}

type EndpointConditions = { ready: boolean; serving: boolean; terminating: boolean };

/**
 * Writes the Service's only EndpointSlice, made by hand (there is no controller-manager): one endpoint, on
 * `node`, at the node's LAN address.
 */
async function applyEndpointSlice(service: string, node: LabNode, conditions: EndpointConditions) {
  await applyObject(cluster, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${service}-by-hand`,
      namespace: NS,
      labels: {
        'kubernetes.io/service-name': service,
        'endpointslice.kubernetes.io/managed-by': 'e2e-l2.sluice.dev',
      },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [node.member.ipv4.split('/')[0]!], nodeName: node.name, conditions }],
    ports: [{ name: 'name', port: PORT, protocol: 'TCP' }],
  });
}

/** The Service's announceFailed Events: name → how many times it was seen (the series count). */
async function announceFailedEvents(service: string): Promise<Map<string, { count: number; note: string }>> {
  const list = await api.events.listNamespacedEvent({ namespace: NS });
  return new Map(
    list.items
      .filter(
        (e) =>
          e.regarding?.kind === 'Service' && e.regarding.name === service && e.reason === 'announceFailed',
      )
      .map((e) => [e.metadata?.name ?? '', { count: e.series?.count ?? 1, note: e.note ?? '' }]),
  );
}

async function labelNode(node: LabNode, label: string): Promise<void> {
  await kubectl(cluster, ['label', 'node', node.name, '--overwrite', label]);
}

before(async () => {
  const problems = namespaceTestProblems(['sysctl', 'arping', 'na6']);
  if (problems.length > 0) {
    throw new Error(
      `the L2 data-plane test cannot run here: ${problems.join('; ')} ` +
        '(scripts/ensure-system-packages.sh installs iproute2, iputils-arping and ipv6toolkit; sysctl is procps)',
    );
  }
  await installCrds(cluster);
  for (const crd of ['l2advertisements.sluice.dev', 'l2announcements.sluice.dev']) {
    await kubectl(cluster, ['wait', '--for=condition=Established', `crd/${crd}`, '--timeout=30s']).catch(
      (error: Error) => {
        throw new Error(`CRD ${crd} is not installed from crds/ (the speaker's CRDs): ${error.message}`);
      },
    );
  }
  lab = await L2Lab.create({
    cluster,
    prefix: 'sl2',
    nodes: [
      { key: 'a', ipv4: '198.51.100.11/24', ipv6: '2001:db8:51::11/64' },
      { key: 'b', ipv4: '198.51.100.12/24', ipv6: '2001:db8:51::12/64' },
    ],
    client: { ipv4: '198.51.100.100/24', ipv6: '2001:db8:51::100/64' },
    servicePort: PORT,
  });
  for (const node of lab.nodes) {
    nodeNames.push(node.name);
    await createReadyNode(cluster, node.name, node.member.ipv4.split('/')[0]!);
  }
  await kubectl(cluster, ['create', 'namespace', NS]);
  await createPool(cluster, POOL, [POOL_RANGE], false);
  await createPool(cluster, POOL6, [POOL6_RANGE], false);
  await applyObject(cluster, {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'L2Advertisement',
    metadata: { name: ADVERTISEMENT },
    spec: { addressPools: [POOL, POOL6] },
  });
  controller = new SluiceProcess(cluster.kubeconfigPath, [
    `--load-balancer-class=${CLASS}`,
    '--leader-elect=false',
  ]);
  await applyObject(cluster, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE, namespace: NS, annotations: { 'sluice.dev/pool': POOL } },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: CLASS,
      ports: [{ name: 'name', port: PORT, targetPort: PORT }],
    },
  });
  vip = await waitForAddress(api.core, NS, SERVICE, 30_000);
  process.stderr.write(
    `# l2 lab: LoadBalancer address ${vip}; nodes ${lab.nodes.map((n) => `${n.name} (${n.member.mac})`).join(', ')}; ` +
      `heartbeat ${HEARTBEAT_DURATION}s/${HEARTBEAT_INTERVAL}s\n`,
  );
  await ensureSpeakers(speakers);
  probe = lab.startProbe(vip, PORT);
});

after(async () => {
  if (figures.length > 0)
    process.stderr.write(`# l2 failover figures:\n${figures.map((f) => `#   ${f}\n`).join('')}`);
  // Every step runs whatever the others do; objects already gone (the before hook stopped early) are fine.
  const deleting = (kind: string, name: string, ...flags: string[]): CleanUpStep => [
    `delete ${kind} ${name}`,
    () => kubectl(cluster, ['delete', kind, name, '--ignore-not-found', ...flags]),
  ];
  await cleanUp('L2 data-plane test clean-up', [
    ['stop the controller', () => controller?.stop('SIGKILL')],
    [
      'destroy the lab',
      async () => {
        const l2 = lab;
        lab = undefined;
        await l2?.destroy();
      },
    ],
    deleting('namespace', NS, '--wait=false'),
    ...[POOL, POOL6].map((pool) => deleting('addresspool', pool)),
    deleting('l2advertisement', ADVERTISEMENT),
    ...nodeNames.map((name) => deleting('node', name)),
  ]);
});

describe('L2 data plane (network namespaces)', () => {
  test('steady state: one node announces, the client reaches it, the L2Announcement names it', async (t) => {
    const holder = await steadyHolder(t, vip, { namespace: NS, name: SERVICE });
    const entry = await theLab().addressOn(holder, vip);
    t.diagnostic(`on ${holder.name}: ${JSON.stringify(entry)}`);
    // The fence: a lifetime no longer than D − R, and never a source address.
    assert.ok(
      entry && entry.validLifetime <= FENCE_SECONDS,
      `valid_lft ${entry?.validLifetime} > ${FENCE_SECONDS}`,
    );
    assert.equal(entry.preferredLifetime, 0);
    assert.equal(entry.prefixlen, 32);
    await waitFor(
      async () =>
        (await eventsFor(api, NS, SERVICE)).some(
          (e) => e.reason === 'nodeAssigned' && e.note?.includes(holder.name),
        ),
      30_000,
      () => `no nodeAssigned Event naming ${holder.name} on ${NS}/${SERVICE}`,
    );
    await assertClientSendsTo(t, vip, holder);
  });

  test('SIGKILL the announcing speaker: its kernel drops the address, the other node takes over', async (t) => {
    await ensureSpeakers(speakers);
    const holder = await steadyHolder(t, vip, { namespace: NS, name: SERVICE });
    const other = theLab().other(holder);
    const before = await theLab().addressOn(holder, vip);
    const age = await heartbeatAgeMs(holder.name, NS);
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const f = await announcedFailover(t, vip, holder, async () => {
      exit = await holder.speaker!.stop('SIGKILL');
    });
    // The signal reached the speaker itself (ip netns exec and setpriv exec it), so nothing ran there after.
    assert.equal(exit?.signal, 'SIGKILL');
    report(t, `SIGKILL (valid_lft ${before?.validLifetime}s, last renew ${age} ms before)`, f);
    // Nothing ran on the killed node to remove it: only the kernel's lifetime (the fence) can have.
    assert.equal(await theLab().addressOn(holder, vip), undefined);
    assert.equal(f.overlaps, 0, 'the killed node still held the address when the other had taken it');
    await announcedBy(SERVICE, other.name);
  });

  test('partition: cut the announcer off the LAN and the API; it withdraws by itself, the other takes over', async (t) => {
    await ensureSpeakers(speakers);
    const holder = await steadyHolder(t, vip, { namespace: NS, name: SERVICE });
    const other = theLab().other(holder);
    const speaker = holder.speaker!;
    const mark = speaker.lines.length;
    const age = await heartbeatAgeMs(holder.name, NS);
    let cutAt = 0;
    // Whatever fails in here, the partition is healed (both are no-ops when nothing was cut), so the tests
    // after this one run on a whole LAN.
    await withCleanUp(
      async () => {
        const f = await announcedFailover(t, vip, holder, async () => {
          cutAt = Date.now();
          await Promise.all([theLab().lan.cut(holder.key), theLab().cutApi(holder)]);
        });
        report(t, `partition (link + API cut; last renew ${age} ms before)`, f);
        assert.ok(speaker.running, `the partitioned speaker exited:\n${speaker.tail()}`);
        // Either the speaker removed the address when its renew deadline passed, or the kernel's lifetime did.
        const withdrawn = speaker.lines.slice(mark).find((l) => l.msg === 'withdrawn' && l.address === vip);
        t.diagnostic(
          withdrawn
            ? `the partitioned speaker withdrew ${vip} itself ${withdrawn.receivedAt - cutAt} ms after the cut: ` +
                JSON.stringify({ ...withdrawn, receivedAt: undefined })
            : `the partitioned speaker logged no withdrawal of ${vip}: its kernel's lifetime removed it`,
        );
        assert.equal(await theLab().addressOn(holder, vip), undefined);
        assert.equal(
          f.overlaps,
          0,
          'the partitioned node still held the address when the other had taken it',
        );
        await announcedBy(SERVICE, other.name);
      },
      `healing the partition of ${holder.name}`,
      [
        [`plug ${holder.name} back into the LAN`, () => theLab().lan.restore(holder.key)],
        [`restart ${holder.name}'s apiserver path`, () => theLab().startApiForwarder(holder)],
      ],
    );
    const after = await steadyHolder(t, vip, { namespace: NS, name: SERVICE });
    t.diagnostic(`after the partition healed: ${after.name} announces (exactly one)`);
  });

  test('SIGTERM the announcing speaker: it withdraws and hands over at once', async (t) => {
    await ensureSpeakers(speakers);
    const holder = await steadyHolder(t, vip, { namespace: NS, name: SERVICE });
    const other = theLab().other(holder);
    const speaker = holder.speaker!;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const f = await announcedFailover(t, vip, holder, async () => {
      exit = await speaker.stop('SIGTERM');
    });
    report(t, 'SIGTERM (graceful)', f);
    assert.deepEqual(exit, { code: 0, signal: null }, speaker.tail());
    assert.ok(
      speaker.lines.some((l) => l.msg === 'withdrawn' && l.address === vip),
      `no 'withdrawn' log line for ${vip}:\n${speaker.tail()}`,
    );
    assert.equal(await leaseExists(holder.name, NS), false, 'the stopped speaker left its heartbeat Lease');
    assert.equal(f.overlaps, 0);
    await announcedBy(SERVICE, other.name);
  });

  test('IPv6: an unsolicited neighbour advertisement moves the client to the new node', async (t) => {
    // The test control plane is dual-stack: the controller gives this IPv6-only Service an address from the
    // IPv6 pool, and the same speakers announce it.
    const l2 = theLab();
    await ensureSpeakers(speakers);
    await applyObject(cluster, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: SERVICE6, namespace: NS, annotations: { 'sluice.dev/pool': POOL6 } },
      spec: {
        type: 'LoadBalancer',
        loadBalancerClass: CLASS,
        ipFamilyPolicy: 'SingleStack',
        ipFamilies: ['IPv6'],
        ports: [{ name: 'name', port: PORT, targetPort: PORT }],
      },
    });
    const vip6 = await waitForAddress(api.core, NS, SERVICE6, 30_000);
    assert.ok(vip6.startsWith(POOL6_PREFIX), `${SERVICE6} got ${vip6}, not an address of ${POOL6}`);
    await theProbe().stop();
    probe = l2.startProbe(vip6, PORT);
    const holder = await steadyHolder(t, vip6, { namespace: NS, name: SERVICE6 });
    const entry = await l2.addressOn(holder, vip6);
    t.diagnostic(`on ${holder.name}: ${JSON.stringify(entry)}`);
    assert.ok(
      entry && entry.validLifetime <= FENCE_SECONDS,
      `valid_lft ${entry?.validLifetime} > ${FENCE_SECONDS}`,
    );
    assert.equal(entry.prefixlen, 128);
    assert.equal(entry.preferredLifetime, 0);

    const other = l2.other(holder);
    const f = await announcedFailover(t, vip6, holder, async () => {
      await holder.speaker!.stop('SIGKILL');
    });
    report(t, `IPv6 SIGKILL (${vip6})`, f);
    assert.equal(await l2.addressOn(holder, vip6), undefined);
    assert.equal(f.overlaps, 0);
    await announcedBy(SERVICE6, other.name);
  });
});

/**
 * The L2Announcement names the new holder. Its status is written by that node's speaker after it took the
 * address (batched), so it may trail the packets by a moment: wait for it rather than read it once.
 */
async function announcedBy(service: string, node: string): Promise<void> {
  let seen: string | undefined;
  await waitFor(
    async () => {
      seen = (await announcementOf(api.custom, NS, service))?.node;
      return seen === node;
    },
    10_000,
    () => `L2Announcement ${service} names ${seen}, not ${node}`,
  );
}

// Which node may announce: these run after the failover tests, each with its own Service and address.
describe('L2 node selection (network namespaces)', () => {
  test('externalTrafficPolicy Local: only a node with a ready endpoint announces, and none when no endpoint is ready', async (t) => {
    const l2 = theLab();
    await ensureSpeakers(speakers);
    const announcement = { namespace: NS, name: LOCAL_SERVICE };
    const [winner, loser] = byRank(LOCAL_ADDRESS);
    t.diagnostic(`${LOCAL_ADDRESS}: ${winner.name} wins the hash, ${loser.name} loses it`);
    const ready: EndpointConditions = { ready: true, serving: true, terminating: false };
    // The slice exists before the Service has an address, so no speaker sees the Service without an endpoint.
    await applyEndpointSlice(LOCAL_SERVICE, loser, ready);
    await applyLoadBalancer(LOCAL_SERVICE, LOCAL_ADDRESS, { externalTrafficPolicy: 'Local' });
    await aimProbeAt(LOCAL_ADDRESS);

    // The endpoint's node announces, although the other node would win the address by the hash.
    const first = await steadyHolder(t, LOCAL_ADDRESS, announcement);
    assert.equal(
      first.name,
      loser.name,
      `${LOCAL_ADDRESS} is announced by ${first.name}, not the endpoint's node`,
    );

    // The endpoint moves to the other node: so does the address (a planned handover, no overlap).
    const f = await announcedFailover(t, LOCAL_ADDRESS, loser, () =>
      applyEndpointSlice(LOCAL_SERVICE, winner, ready),
    );
    report(t, 'Local: the endpoint moved to the other node', f);
    assert.equal(f.overlaps, 0, 'both nodes held the address while it moved with the endpoint');
    const second = await steadyHolder(t, LOCAL_ADDRESS, announcement);
    assert.equal(second.name, winner.name);
    assert.equal(await l2.addressOn(loser, LOCAL_ADDRESS), undefined);

    // No endpoint ready (nor terminating-but-serving, the fallback) anywhere: nobody may announce it.
    const failedBefore = await announceFailedEvents(LOCAL_SERVICE);
    const markedAt = Date.now();
    await applyEndpointSlice(LOCAL_SERVICE, winner, { ready: false, serving: false, terminating: false });
    let holders: LabNode[] = [];
    await waitFor(
      async () => {
        holders = await l2.holders(LOCAL_ADDRESS);
        return holders.length === 0;
      },
      FAILOVER_WAIT_MS,
      () =>
        `${LOCAL_ADDRESS} still on [${holders.map((h) => h.name).join(', ')}] with no ready endpoint\n` +
        speakerTails(),
    );
    const goneAt = Date.now();
    t.diagnostic(
      `${LOCAL_ADDRESS} left both nodes ${goneAt - markedAt} ms after the endpoint turned not ready`,
    );
    const samples = await sampleHolders(l2, LOCAL_ADDRESS, 4_000);
    assert.ok(
      samples.every((s) => s.length === 0),
      `${LOCAL_ADDRESS} came back with no ready endpoint: ${JSON.stringify(samples.filter((s) => s.length > 0))}`,
    );
    // Nothing answers on the address any more (attempts that started once it was gone from both nodes).
    const attempts = theProbe().lines.filter((l) => typeof l.startedAt === 'number' && l.startedAt >= goneAt);
    const answered = attempts.filter((l) => l.ok === true);
    t.diagnostic(`client: ${answered.length} of ${attempts.length} attempts since the withdrawal answered`);
    assert.ok(attempts.length > 0, 'the client probe made no attempt after the withdrawal');
    assert.deepEqual(answered, [], `the client still reached a node on ${LOCAL_ADDRESS}`);

    // The L2Announcement says nobody announces it, and why.
    let status: Announcement | undefined;
    await waitFor(
      async () => {
        status = await announcementOf(api.custom, NS, LOCAL_SERVICE);
        return status?.node === '' && (status.message ?? '').includes('no ready endpoint');
      },
      FAILOVER_WAIT_MS,
      () => `the L2Announcement does not show the failure: ${JSON.stringify(status)}`,
    );
    t.diagnostic(`L2Announcement status: ${JSON.stringify(status)}`);
    assert.deepEqual(status?.addresses, [LOCAL_ADDRESS]);
    assert.deepEqual(status?.interfaces, []);
    for (const node of l2.nodes)
      assert.ok(status?.message?.includes(node.name), `the message omits ${node.name}`);

    // And a Warning announceFailed Event on the Service: a new one, or one more of an earlier series.
    let failed = new Map<string, { count: number; note: string }>();
    await waitFor(
      async () => {
        failed = await announceFailedEvents(LOCAL_SERVICE);
        return [...failed].some(
          ([name, e]) =>
            e.note.includes(LOCAL_ADDRESS) &&
            e.note.includes('no ready endpoint') &&
            e.count > (failedBefore.get(name)?.count ?? 0),
        );
      },
      FAILOVER_WAIT_MS,
      () =>
        `no new announceFailed Event on ${NS}/${LOCAL_SERVICE}; before: ${JSON.stringify([...failedBefore])}, ` +
        `now: ${JSON.stringify([...failed])}`,
    );
    t.diagnostic(`announceFailed Events: ${JSON.stringify([...failed])}`);
  });

  test('exclude-from-external-load-balancers: a labelled holder hands the address over, and wins it back when unlabelled', async (t) => {
    const l2 = theLab();
    await ensureSpeakers(speakers);
    const announcement = { namespace: NS, name: EXCLUDE_SERVICE };
    const [winner, loser] = byRank(EXCLUDE_ADDRESS);
    t.diagnostic(`${EXCLUDE_ADDRESS}: ${winner.name} wins the hash, ${loser.name} loses it`);
    await applyLoadBalancer(EXCLUDE_SERVICE, EXCLUDE_ADDRESS);
    await aimProbeAt(EXCLUDE_ADDRESS);
    const holder = await steadyHolder(t, EXCLUDE_ADDRESS, announcement);
    assert.equal(
      holder.name,
      winner.name,
      `with both nodes eligible ${EXCLUDE_ADDRESS} is not on the hash winner`,
    );

    // Whatever fails in here, the label comes off again (a no-op when it is not there).
    await withCleanUp(
      async () => {
        const away = await announcedFailover(t, EXCLUDE_ADDRESS, holder, () =>
          labelNode(holder, `${EXCLUDE_LABEL}=`),
        );
        report(t, `exclude label on ${holder.name}`, away);
        assert.equal(away.overlaps, 0, 'both nodes held the address while it left the labelled node');
        const moved = await steadyHolder(t, EXCLUDE_ADDRESS, announcement);
        assert.equal(moved.name, loser.name);
        assert.equal(await l2.addressOn(holder, EXCLUDE_ADDRESS), undefined);

        // Unlabelled, the node may announce again, and the election (lowest hash) gives it the address back.
        const back = await announcedFailover(t, EXCLUDE_ADDRESS, moved, () =>
          labelNode(holder, `${EXCLUDE_LABEL}-`),
        );
        report(t, `exclude label removed from ${holder.name}`, back);
        assert.equal(back.overlaps, 0, 'both nodes held the address while it moved back');
        const last = await steadyHolder(t, EXCLUDE_ADDRESS, announcement);
        assert.equal(last.name, winner.name);
        t.diagnostic(`after the label came off: ${last.name} announces (exactly one)`);
      },
      `removing the exclude label from ${holder.name}`,
      [[`unlabel ${holder.name}`, () => labelNode(holder, `${EXCLUDE_LABEL}-`)]],
    );
  });
});
