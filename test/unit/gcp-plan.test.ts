// The GCP plan, step by step against a small fake project that refuses what Compute refuses: a rule
// without its backend service or its address, a backend service without its health check or groups,
// deleting what is still used, two internal rules on an address not made to be shared, two membership
// changes of one group at once, and — Sluice's own rule — any write to a resource it does not own.
// Every op of one plan is checked against the state before the plan (apply starts them in parallel).
// Each step applies the plan's writes and plans again, until nothing is left to do.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LoadBalancerIntent, ServiceRef, TargetNode } from '../../src/intent/types.ts';
import type {
  AddressSpec,
  BackendServiceSpec,
  Existing,
  FirewallSpec,
  ForwardingRuleSpec,
  GcpConfig,
  GcpObserved,
  GcpOperation,
  GcpPlan,
  GcpSettings,
  HealthCheckSpec,
  InstanceGroupSpec,
} from '../../src/providers/gcp/model.ts';
import {
  allServiceNames,
  instanceGroupName,
  isOwned,
  lastSegment,
  ownershipDescription,
  sameResource,
  sharedHealthCheckName,
  sharedHealthFirewallName,
  urls,
} from '../../src/providers/gcp/names.ts';
import { failureProblem, planLoadBalancer, planRemoval } from '../../src/providers/gcp/plan.ts';
import { readGcpSettings } from '../../src/providers/gcp/settings.ts';
import { plainIntent } from '../harness/intent-fixture.ts';

const CONFIG: GcpConfig = {
  project: 'p',
  region: 'r1',
  network: 'default',
  subnetwork: 'nodes',
  cluster: 'kube',
  nodeTags: [],
};
const { project: P, region: R, cluster: CLUSTER } = CONFIG;
const SUBNETS: Record<string, string> = { nodes: '10.0.0', ilb: '10.1.0' };
const gceNode = (name: string, zone: string): TargetNode => ({
  name,
  providerID: `gce://${P}/${zone}/${name}`,
  labels: {},
  internalAddresses: [],
});
const NODES: TargetNode[] = [gceNode('vm-a', 'r1-a'), gceNode('vm-b', 'r1-b')];
const INTERNAL = { 'networking.gke.io/load-balancer-type': 'Internal' };
const service = (uid: string, overrides: Partial<LoadBalancerIntent> = {}) =>
  plainIntent({ service: { namespace: 'shop', name: `web-${uid}`, uid }, nodes: NODES, ...overrides });
const ports = (protocol: 'TCP' | 'UDP', ...numbers: number[]) =>
  numbers.map((port) => ({ name: `${protocol.toLowerCase()}-${port}`, protocol, port }));

function settingsOf(intent: LoadBalancerIntent): GcpSettings {
  const { settings, problems } = readGcpSettings(intent, CONFIG);
  assert.ok(settings, problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  return settings;
}

// ---- The fake project ------------------------------------------------------------------------------

interface Lists {
  addresses: Array<Existing<AddressSpec>>;
  healthChecks: Array<Existing<HealthCheckSpec>>;
  backendServices: Array<Existing<BackendServiceSpec>>;
  forwardingRules: Array<Existing<ForwardingRuleSpec>>;
  firewalls: Array<Existing<FirewallSpec>>;
  instanceGroups: Array<Existing<InstanceGroupSpec>>;
}
type Listed = Lists[keyof Lists][number];

const LIST_OF: Record<string, keyof Lists> = {
  address: 'addresses',
  healthCheck: 'healthChecks',
  backendService: 'backendServices',
  forwardingRule: 'forwardingRules',
  firewall: 'firewalls',
  instanceGroup: 'instanceGroups',
};

const SHARED_NAMES = new Set([
  sharedHealthCheckName(CLUSTER),
  sharedHealthFirewallName(CLUSTER),
  instanceGroupName(CLUSTER),
]);

const selfLinkOf = (resource: string, name: string, zone?: string): string => {
  switch (resource) {
    case 'healthCheck':
      return urls.healthCheck(P, R, name);
    case 'backendService':
      return urls.backendService(P, R, name);
    case 'instanceGroup':
      return urls.instanceGroup(P, zone ?? '', name);
    case 'firewall':
      return `projects/${P}/global/firewalls/${name}`;
    case 'address':
      return `projects/${P}/regions/${R}/addresses/${name}`;
    default:
      return `projects/${P}/regions/${R}/forwardingRules/${name}`;
  }
};

/** What the fake project answered: a refusal names what Compute (or Sluice's ownership rule) refuses. */
class Refused extends Error {}

class FakeProject implements Lists {
  addresses: Array<Existing<AddressSpec>> = [];
  healthChecks: Array<Existing<HealthCheckSpec>> = [];
  backendServices: Array<Existing<BackendServiceSpec>> = [];
  forwardingRules: Array<Existing<ForwardingRuleSpec>> = [];
  firewalls: Array<Existing<FirewallSpec>> = [];
  instanceGroups: Array<Existing<InstanceGroupSpec>> = [];
  writes = 0;
  #external = 10;
  #internal = 10;
  #fingerprint = 0;

  /** A static address the user reserved by hand (not Sluice's). */
  reserve(name: string, ip: string, addressType: 'EXTERNAL' | 'INTERNAL', purpose?: string): void {
    this.addresses.push({
      name,
      addressType,
      address: ip,
      ...(addressType === 'EXTERNAL'
        ? { networkTier: 'PREMIUM' as const }
        : { subnetwork: urls.subnetwork(P, R, 'nodes') }),
      ...(purpose ? { purpose: purpose as AddressSpec['purpose'] } : {}),
      selfLink: selfLinkOf('address', name),
      description: 'reserved by hand',
      status: 'RESERVED',
    });
  }

  /** What observe would read for one Service (every name it could have used, the shared ones). */
  observe(
    ref: ServiceRef,
    options: {
      settings?: GcpSettings;
      sharedUsers?: boolean;
      running?: GcpObserved['running'];
      failed?: GcpObserved['failed'];
    } = {},
  ): GcpObserved {
    const names = allServiceNames(CLUSTER, ref);
    const by = (list: string[]) => (r: { name: string }) => list.includes(r.name);
    const observed: GcpObserved = structuredClone({
      running: options.running ?? [],
      failed: options.failed ?? [],
      addresses: this.addresses.filter(by(names.addresses)),
      healthChecks: this.healthChecks.filter(by([...names.healthChecks, sharedHealthCheckName(CLUSTER)])),
      backendServices: this.backendServices.filter(by(names.backends)),
      forwardingRules: this.forwardingRules.filter(by(names.backends)),
      firewalls: this.firewalls.filter(by([...names.firewalls, sharedHealthFirewallName(CLUSTER)])),
      instanceGroups: this.instanceGroups.filter(by([instanceGroupName(CLUSTER)])),
    });
    const settings = options.settings;
    if (settings?.requestedIp !== undefined) {
      const match = this.addresses.find((a) => a.address === settings.requestedIp);
      observed.requestedAddress = match
        ? {
            name: match.name,
            ip: settings.requestedIp,
            owned: isOwned(match.description, CLUSTER, ref.uid),
            status: match.status ?? 'RESERVED',
            addressType: match.addressType,
            ...(match.addressType === 'INTERNAL' ? { purpose: match.purpose ?? 'GCE_ENDPOINT' } : {}),
          }
        : 'absent';
    }
    if (settings?.scheme === 'INTERNAL' && settings.subnetwork !== undefined) {
      const subnet = lastSegment(settings.subnetwork);
      observed.subnetwork = SUBNETS[subnet] ? { selfLink: urls.subnetwork(P, R, subnet) } : 'absent';
    }
    if (options.sharedUsers) {
      const shared = [
        urls.healthCheck(P, R, sharedHealthCheckName(CLUSTER)),
        ...this.instanceGroups.map((g) => g.selfLink),
      ];
      observed.sharedUsers = this.backendServices
        .filter((b) => !isOwned(b.description, CLUSTER, ref.uid))
        .filter((b) => [b.healthCheck, ...b.groups].some((u) => shared.some((s) => sameResource(s, u))))
        .map((b) => b.name);
    }
    return observed;
  }

  /** Starts every op of one plan; each is checked against the state before any of them ran. */
  apply(ops: ReadonlyArray<GcpOperation>, owner: ServiceRef): void {
    const refusals = ops.flatMap((op) => {
      const why = this.#refusal(op, owner);
      return why ? [`${describeOp(op)}: ${why}`] : [];
    });
    const touched = ops.map((op) => this.#key(op));
    const twice = touched.filter((k, i) => touched.indexOf(k) !== i);
    if (twice.length > 0) refusals.push(`two writes on ${twice.join(', ')} at once (resourceNotReady)`);
    if (refusals.length > 0) throw new Refused(refusals.join('\n'));
    for (const op of ops) this.#run(op, owner);
    this.writes += ops.length;
  }

  /** Resources this Service owns, and the cluster's shared ones, by kind (for end-state checks). */
  owned(uid: string): string[] {
    return this.#all()
      .filter(({ r }) => isOwned(r.description, CLUSTER, uid))
      .map(({ list, r }) => `${list} ${r.name}`);
  }

  /** Everything in the project, as "collection name". */
  everything(): string[] {
    return this.#all().map(({ list, r }) => `${list} ${r.name}${'zone' in r ? ` ${r.zone}` : ''}`);
  }

  #all(): Array<{ list: keyof Lists; r: Listed }> {
    return (Object.values(LIST_OF) as Array<keyof Lists>).flatMap((list) =>
      (this[list] as Listed[]).map((r) => ({ list, r })),
    );
  }

  #find(resource: string, name: string, zone?: string): Listed | undefined {
    const list = this[LIST_OF[resource]!] as Listed[];
    return list.find((r) => r.name === name && (zone === undefined || ('zone' in r && r.zone === zone)));
  }

  #key(op: GcpOperation): string {
    if (op.kind === 'addInstances' || op.kind === 'removeInstances')
      return `instanceGroup ${op.zone}/${op.group}`;
    if (op.resource === 'instanceGroup')
      return `instanceGroup ${'spec' in op ? op.spec.zone : op.zone}/${'spec' in op ? op.spec.name : op.name}`;
    return `${op.resource} ${'spec' in op ? op.spec.name : op.name}`;
  }

  #refusal(op: GcpOperation, owner: ServiceRef): string | undefined {
    const name =
      op.kind === 'addInstances' || op.kind === 'removeInstances'
        ? op.group
        : 'spec' in op
          ? op.spec.name
          : op.name;
    const resource =
      op.kind === 'addInstances' || op.kind === 'removeInstances' ? 'instanceGroup' : op.resource;
    const zone =
      op.kind === 'addInstances' || op.kind === 'removeInstances'
        ? op.zone
        : op.resource === 'instanceGroup'
          ? 'spec' in op
            ? op.spec.zone
            : op.zone
          : undefined;
    const existing = this.#find(resource, name, zone);
    if (op.kind === 'insert') {
      if (existing) return 'alreadyExists';
      return this.#insertRefusal(op);
    }
    if (!existing) return 'notFound (the plan writes something that is not there)';
    const shared = SHARED_NAMES.has(name);
    if (!isOwned(existing.description, CLUSTER, shared ? undefined : owner.uid))
      return `touches ${name}, which is not Sluice's for this Service`;
    if (op.kind === 'patch') {
      if (op.resource === 'backendService') return this.#backendRefusal(op.spec);
      if (op.resource === 'firewall') return this.#firewallRefusal(op.spec);
      return undefined;
    }
    if (op.kind === 'addInstances' || op.kind === 'removeInstances') {
      const group = existing as Existing<InstanceGroupSpec>;
      for (const instance of op.instances) {
        const member = group.instances.includes(instance);
        if (op.kind === 'addInstances' && member) return `memberAlreadyExists ${instance}`;
        if (op.kind === 'removeInstances' && !member) return `memberNotFound ${instance}`;
      }
      return op.instances.length === 0 ? 'no instances' : undefined;
    }
    // delete: refused while something refers to it.
    const url = existing.selfLink;
    const users: string[] = [];
    if (op.resource === 'address') {
      const ip = (existing as Existing<AddressSpec>).address;
      users.push(...this.forwardingRules.filter((r) => r.ip === ip).map((r) => r.name));
    }
    if (op.resource === 'healthCheck')
      users.push(...this.backendServices.filter((b) => sameResource(b.healthCheck, url)).map((b) => b.name));
    if (op.resource === 'backendService')
      users.push(
        ...this.forwardingRules.filter((r) => sameResource(r.backendService, url)).map((r) => r.name),
      );
    if (op.resource === 'instanceGroup')
      users.push(
        ...this.backendServices.filter((b) => b.groups.some((g) => sameResource(g, url))).map((b) => b.name),
      );
    return users.length > 0 ? `resourceInUseByAnotherResource (${users.join(', ')})` : undefined;
  }

  #insertRefusal(op: Extract<GcpOperation, { kind: 'insert' }>): string | undefined {
    switch (op.resource) {
      case 'address': {
        const s = op.spec;
        if (s.addressType === 'EXTERNAL') {
          if (s.subnetwork || s.purpose) return 'an EXTERNAL address takes no subnetwork or purpose';
          if (s.address) return 'an external IP Sluice does not own cannot be reserved by IP';
          return undefined;
        }
        if (!s.subnetwork || !SUBNETS[lastSegment(s.subnetwork)]) return 'subnetwork not found';
        if (s.address && this.addresses.some((a) => a.address === s.address))
          return `IP ${s.address} is already reserved`;
        return undefined;
      }
      case 'backendService':
        return this.#backendRefusal(op.spec);
      case 'forwardingRule':
        return this.#ruleRefusal(op.spec);
      case 'firewall':
        return this.#firewallRefusal(op.spec);
      default:
        return undefined;
    }
  }

  #backendRefusal(s: BackendServiceSpec): string | undefined {
    if (!this.healthChecks.some((h) => sameResource(h.selfLink, s.healthCheck)))
      return `health check ${s.healthCheck} not found`;
    const missing = s.groups.filter((g) => !this.instanceGroups.some((x) => sameResource(x.selfLink, g)));
    if (missing.length > 0) return `instance groups not found: ${missing.join(', ')}`;
    if (s.scheme === 'INTERNAL' && !s.network) return 'an INTERNAL backend service needs its network';
    return undefined;
  }

  #ruleRefusal(s: ForwardingRuleSpec): string | undefined {
    const backend = this.backendServices.find((b) => sameResource(b.selfLink, s.backendService));
    if (!backend) return `backend service ${s.backendService} not found`;
    if (backend.scheme !== s.scheme || backend.protocol !== s.protocol)
      return 'scheme/protocol differ from the backend service';
    const address = this.addresses.find((a) => a.address === s.ip && s.ip !== '');
    if (!address) return `IP "${s.ip}" is not a reserved address`;
    if (address.addressType !== s.scheme) return `the address is ${address.addressType}`;
    if (s.scheme === 'EXTERNAL' && (address.networkTier ?? 'PREMIUM') !== (s.networkTier ?? 'PREMIUM'))
      return 'the address has another tier';
    if (s.scheme === 'INTERNAL' && !sameResource(address.subnetwork ?? '', s.subnetwork ?? ''))
      return 'the address is in another subnetwork';
    const others = this.forwardingRules.filter((r) => r.ip === s.ip);
    if (others.length > 0 && s.scheme === 'INTERNAL' && address.purpose !== 'SHARED_LOADBALANCER_VIP')
      return `IP_IN_USE_BY_ANOTHER_RESOURCE: ${s.ip} is used by ${others[0]!.name} and not SHARED_LOADBALANCER_VIP`;
    const overlap = (a: ForwardingRuleSpec['ports'], b: ForwardingRuleSpec['ports']) =>
      a === 'all' || b === 'all' || a.some((p) => b.includes(p));
    const clash = others.find((r) => r.protocol === s.protocol && overlap(r.ports, s.ports));
    if (clash) return `IP_IN_USE_BY_ANOTHER_RESOURCE: ${clash.name} serves the same ports`;
    if (s.ports !== 'all' && s.ports.length > 5) return 'more than 5 ports: allPorts';
    return undefined;
  }

  #firewallRefusal(s: FirewallSpec): string | undefined {
    const entries = s.allowed.reduce((n, a) => n + a.ports.length, 0);
    if (entries > 100) return `${entries} port entries (at most 100)`;
    if (s.destinationRanges?.some((d) => d === '')) return 'an empty destination range';
    return undefined;
  }

  #run(op: GcpOperation, owner: ServiceRef): void {
    if (op.kind === 'addInstances' || op.kind === 'removeInstances') {
      const group = this.#find('instanceGroup', op.group, op.zone) as Existing<InstanceGroupSpec>;
      group.instances =
        op.kind === 'addInstances'
          ? [...group.instances, ...op.instances].sort()
          : group.instances.filter((i) => !op.instances.includes(i));
      return;
    }
    const list = this[LIST_OF[op.resource]!] as Listed[];
    if (op.kind === 'delete') {
      const zone = op.resource === 'instanceGroup' ? op.zone : undefined;
      list.splice(list.indexOf(this.#find(op.resource, op.name, zone)!), 1);
      return;
    }
    const description = SHARED_NAMES.has(op.spec.name)
      ? ownershipDescription(CLUSTER)
      : ownershipDescription(CLUSTER, owner);
    if (op.kind === 'patch') {
      const have = this.#find(op.resource, op.spec.name)!;
      Object.assign(have, structuredClone(op.spec), { fingerprint: `fp-${++this.#fingerprint}` });
      return;
    }
    const spec = structuredClone(op.spec) as Listed;
    const extra: Record<string, unknown> = {
      selfLink: selfLinkOf(op.resource, op.spec.name, 'zone' in op.spec ? op.spec.zone : undefined),
      description,
    };
    if (op.resource === 'address') {
      const s = op.spec;
      extra.status = 'RESERVED';
      extra.address =
        s.address ??
        (s.addressType === 'EXTERNAL'
          ? `203.0.113.${this.#external++}`
          : `${SUBNETS[lastSegment(s.subnetwork ?? '')]}.${this.#internal++}`);
      if (s.addressType === 'INTERNAL' && !s.purpose) extra.purpose = 'GCE_ENDPOINT';
    }
    if (op.resource === 'backendService') extra.fingerprint = `fp-${++this.#fingerprint}`;
    list.push({ ...spec, ...extra } as Listed);
  }
}

function describeOp(op: GcpOperation): string {
  if (op.kind === 'addInstances' || op.kind === 'removeInstances') return `${op.kind} ${op.zone}`;
  return `${op.kind} ${op.resource} ${'spec' in op ? op.spec.name : op.name}`;
}

/** The ops of a plan, short and sorted: "insert address", "addInstances r1-a", "delete forwardingRule". */
const summary = (plan: GcpPlan): string[] =>
  plan.ops
    .map((op) =>
      op.kind === 'addInstances' || op.kind === 'removeInstances'
        ? `${op.kind} ${op.zone}`
        : `${op.kind} ${op.resource}`,
    )
    .sort();

interface Converged {
  plans: GcpPlan[];
  last: GcpPlan;
}

/**
 * Plans and applies until a plan has nothing to do (or a problem). `check` runs after every step
 * (invariants that must hold while the load balancer changes).
 */
function converge(
  fake: FakeProject,
  intent: LoadBalancerIntent,
  check: (fake: FakeProject, step: number) => void = () => {},
): Converged {
  const settings = settingsOf(intent);
  const plans: GcpPlan[] = [];
  for (let step = 0; step < 15; step++) {
    const plan = planLoadBalancer(intent, settings, CONFIG, fake.observe(intent.service, { settings }));
    plans.push(plan);
    if (plan.problem || (plan.ops.length === 0 && plan.deferred.length === 0)) return { plans, last: plan };
    assert.ok(plan.ops.length > 0, `stuck with only deferred steps: ${plan.deferred.join('; ')}`);
    assert.equal(plan.ip, undefined, 'no IP for the status while writes remain');
    fake.apply(plan.ops, intent.service);
    check(fake, step);
  }
  throw new Error('did not converge in 15 steps');
}

function removeAll(fake: FakeProject, ref: ServiceRef, sharedUsers = true): GcpPlan[] {
  const plans: GcpPlan[] = [];
  for (let step = 0; step < 10; step++) {
    const plan = planRemoval(ref, CONFIG, fake.observe(ref, { sharedUsers }));
    plans.push(plan);
    if (plan.ops.length === 0) {
      assert.deepEqual(plan.deferred, [], 'removal stuck');
      return plans;
    }
    fake.apply(plan.ops, ref);
  }
  throw new Error('removal did not finish in 10 steps');
}

const steady = (fake: FakeProject, intent: LoadBalancerIntent): GcpPlan => {
  const settings = settingsOf(intent);
  return planLoadBalancer(intent, settings, CONFIG, fake.observe(intent.service, { settings }));
};

/** Every backend service's health check exists and Google's probes reach its port (no outage). */
function probesReachNodes(fake: FakeProject): void {
  for (const backend of fake.backendServices) {
    const check = fake.healthChecks.find((h) => sameResource(h.selfLink, backend.healthCheck));
    assert.ok(check, `${backend.name}: its health check exists`);
    assert.ok(
      fake.firewalls.some(
        (f) =>
          f.destinationRanges === undefined && f.allowed.some((a) => a.ports.includes(String(check.port))),
      ),
      `${backend.name}: a firewall admits the probes to ${check.port}`,
    );
  }
}

const rulesOf = (fake: FakeProject, uid: string) =>
  fake.forwardingRules.filter((r) => isOwned(r.description, CLUSTER, uid));

// ---- Tests -------------------------------------------------------------------------------------------

describe('planLoadBalancer: a new Service', () => {
  it('external: converges in dependency order, one step at a time; the steady state plans nothing', () => {
    const fake = new FakeProject();
    const { plans, last } = converge(fake, service('u1'), probesReachNodes);
    assert.deepEqual(plans.map(summary), [
      [
        'insert address',
        'insert firewall',
        'insert healthCheck',
        'insert instanceGroup',
        'insert instanceGroup',
      ],
      ['addInstances r1-a', 'addInstances r1-b', 'insert backendService', 'insert firewall'],
      ['insert forwardingRule'],
      [],
    ]);
    assert.deepEqual(plans[0]?.deferred, [
      `instance group ${instanceGroupName(CLUSTER)} (r1-a): add 1 instances once it exists`,
      `instance group ${instanceGroupName(CLUSTER)} (r1-b): add 1 instances once it exists`,
      `backend service ${fake.backendServices[0]?.name}: waits for health check ${sharedHealthCheckName(CLUSTER)}, instance group ${instanceGroupName(CLUSTER)} (r1-a), instance group ${instanceGroupName(CLUSTER)} (r1-b)`,
      `forwarding rule ${fake.forwardingRules[0]?.name}: waits for backend service ${fake.forwardingRules[0]?.name} and the address`,
      `firewall ${fake.firewalls.find((f) => f.destinationRanges)?.name}: waits for the address`,
    ]);
    assert.equal(last.ip, '203.0.113.10');
    const rule = fake.forwardingRules[0]!;
    assert.deepEqual(
      {
        scheme: rule.scheme,
        protocol: rule.protocol,
        ports: rule.ports,
        tier: rule.networkTier,
        ip: rule.ip,
      },
      { scheme: 'EXTERNAL', protocol: 'TCP', ports: [80], tier: 'PREMIUM', ip: '203.0.113.10' },
    );
    assert.deepEqual(
      fake.instanceGroups.map((g) => [g.zone, g.instances]),
      [
        ['r1-a', ['projects/p/zones/r1-a/instances/vm-a']],
        ['r1-b', ['projects/p/zones/r1-b/instances/vm-b']],
      ],
    );
    const client = fake.firewalls.find((f) => f.destinationRanges)!;
    assert.deepEqual(
      [client.sourceRanges, client.destinationRanges, client.allowed],
      [['0.0.0.0/0'], ['203.0.113.10'], [{ protocol: 'tcp', ports: ['80'] }]],
    );
    const again = steady(fake, service('u1'));
    assert.deepEqual([again.ops, again.deferred, again.ip], [[], [], '203.0.113.10']);
  });

  it('internal with a subnet annotation and global access: TCP and UDP share one shareable internal IP', () => {
    const fake = new FakeProject();
    const intent = service('u1', {
      annotations: {
        ...INTERNAL,
        'networking.gke.io/internal-load-balancer-subnet': 'ilb',
        'networking.gke.io/internal-load-balancer-allow-global-access': 'true',
      },
      ports: [...ports('TCP', 80), ...ports('UDP', 53)],
    });
    const { last } = converge(fake, intent, probesReachNodes);
    assert.equal(last.ip, '10.1.0.10');
    const address = fake.addresses[0]!;
    assert.deepEqual(
      [address.addressType, address.subnetwork, address.purpose, address.networkTier],
      ['INTERNAL', 'projects/p/regions/r1/subnetworks/ilb', 'SHARED_LOADBALANCER_VIP', undefined],
    );
    assert.deepEqual(
      fake.forwardingRules.map((r) => [
        r.protocol,
        r.scheme,
        r.ip,
        r.subnetwork,
        r.network,
        r.allowGlobalAccess,
      ]),
      [
        [
          'TCP',
          'INTERNAL',
          '10.1.0.10',
          'projects/p/regions/r1/subnetworks/ilb',
          'projects/p/global/networks/default',
          true,
        ],
        [
          'UDP',
          'INTERNAL',
          '10.1.0.10',
          'projects/p/regions/r1/subnetworks/ilb',
          'projects/p/global/networks/default',
          true,
        ],
      ],
    );
    assert.ok(
      fake.forwardingRules.every((r) => r.networkTier === undefined),
      'internal rules have no tier',
    );
    assert.ok(fake.backendServices.every((b) => b.network === 'projects/p/global/networks/default'));
    assert.deepEqual(steady(fake, intent).ops, []);
  });

  it('internal in a subnetwork that does not exist: SubnetNotFound, nothing written', () => {
    const intent = service('u1', {
      annotations: { ...INTERNAL, 'networking.gke.io/internal-load-balancer-subnet': 'missing' },
    });
    const plan = steady(new FakeProject(), intent);
    assert.equal(plan.problem?.reason, 'SubnetNotFound');
    assert.match(plan.problem?.message ?? '', /subnetwork missing does not exist in region r1 of project p/);
    assert.deepEqual(plan.ops, []);
  });

  it('Local, ClientIP, source ranges, node tags: the Service’s own check on its port, and its firewalls', () => {
    const fake = new FakeProject();
    const config = { ...CONFIG, nodeTags: ['gke-node'] };
    const intent = service('u1', {
      trafficPolicy: 'Local',
      healthCheckNodePort: 31234,
      sessionAffinity: 'ClientIP',
      sourceRanges: ['192.0.2.0/24'],
    });
    const settings = settingsOf(intent);
    for (let step = 0; step < 6; step++) {
      const plan = planLoadBalancer(intent, settings, config, fake.observe(intent.service, { settings }));
      if (plan.ops.length === 0) break;
      fake.apply(plan.ops, intent.service);
    }
    assert.deepEqual(
      fake.healthChecks.map((h) => [h.port, h.requestPath, h.checkIntervalSec, h.unhealthyThreshold]),
      [[31234, '/healthz', 3, 2]],
    );
    assert.ok(fake.backendServices.every((b) => b.sessionAffinity === 'CLIENT_IP'));
    assert.deepEqual(
      fake.firewalls.map((f) => [f.sourceRanges, f.allowed, f.targetTags]).sort(),
      [
        [['130.211.0.0/22', '35.191.0.0/16'], [{ protocol: 'tcp', ports: ['31234'] }], ['gke-node']],
        [['192.0.2.0/24'], [{ protocol: 'tcp', ports: ['80'] }], ['gke-node']],
      ].sort(),
    );
  });
});

describe('planLoadBalancer: addresses', () => {
  it('a user’s reserved external address is used, never deleted; no address of Sluice’s is made', () => {
    const fake = new FakeProject();
    fake.reserve('my-ip', '198.51.100.7', 'EXTERNAL');
    const intent = service('u1', { requestedAddresses: ['198.51.100.7'] });
    const { last } = converge(fake, intent);
    assert.equal(last.ip, '198.51.100.7');
    assert.deepEqual(
      fake.addresses.map((a) => a.name),
      ['my-ip'],
    );
    assert.equal(fake.forwardingRules[0]?.ip, '198.51.100.7');
    assert.deepEqual(steady(fake, intent).ops, []);
    removeAll(fake, intent.service);
    assert.deepEqual(fake.everything(), ['addresses my-ip']);
  });

  it('from the user’s address to one of Sluice’s: the rule moves, the user’s address stays', () => {
    const fake = new FakeProject();
    fake.reserve('my-ip', '198.51.100.7', 'EXTERNAL');
    converge(fake, service('u1', { requestedAddresses: ['198.51.100.7'] }));
    const { plans, last } = converge(fake, service('u1'));
    assert.equal(last.ip, '203.0.113.10');
    assert.ok(plans.some((p) => p.changed.some((c) => c.reason === 'RecreatingForwardingRule')));
    assert.ok(fake.addresses.some((a) => a.name === 'my-ip'));
  });

  it('a requested external IP nobody reserved: AddressNotReserved with the gcloud command', () => {
    const plan = steady(new FakeProject(), service('u1', { requestedAddresses: ['198.51.100.5'] }));
    assert.equal(plan.problem?.reason, 'AddressNotReserved');
    assert.match(
      plan.problem?.message ?? '',
      /gcloud compute addresses create NAME --addresses 198\.51\.100\.5 --region r1/,
    );
    assert.deepEqual(plan.ops, []);
  });

  it('a requested internal IP nobody reserved: Sluice reserves it in the subnet, and deletes it with the Service', () => {
    const fake = new FakeProject();
    const intent = service('u1', { annotations: INTERNAL, requestedAddresses: ['10.0.0.99'] });
    const { plans, last } = converge(fake, intent);
    const insert = plans[0]?.ops.find((o) => o.kind === 'insert' && o.resource === 'address');
    assert.deepEqual(insert?.kind === 'insert' && insert.spec, {
      name: fake.addresses[0]?.name,
      addressType: 'INTERNAL',
      subnetwork: 'projects/p/regions/r1/subnetworks/nodes',
      purpose: 'SHARED_LOADBALANCER_VIP',
      address: '10.0.0.99',
    });
    assert.equal(last.ip, '10.0.0.99');
    // Seen again, the address is its own (owned), not a user's.
    assert.deepEqual(steady(fake, intent).ops, []);
    removeAll(fake, intent.service);
    assert.deepEqual(fake.everything(), []);
  });

  it('a user’s internal address without SHARED_LOADBALANCER_VIP cannot carry TCP and UDP: said before any write', () => {
    const fake = new FakeProject();
    fake.reserve('my-ilb', '10.0.0.50', 'INTERNAL');
    const both = service('u1', {
      annotations: INTERNAL,
      requestedAddresses: ['10.0.0.50'],
      ports: [...ports('TCP', 80), ...ports('UDP', 53)],
    });
    const plan = steady(fake, both);
    assert.equal(plan.problem?.reason, 'AddressNotShareable');
    assert.match(plan.problem?.message ?? '', /--purpose SHARED_LOADBALANCER_VIP/);
    // One protocol is fine on it; a shareable one carries both.
    const tcpOnly = service('u1', { annotations: INTERNAL, requestedAddresses: ['10.0.0.50'] });
    assert.equal(converge(fake, tcpOnly).last.ip, '10.0.0.50');
    const other = new FakeProject();
    other.reserve('my-ilb', '10.0.0.50', 'INTERNAL', 'SHARED_LOADBALANCER_VIP');
    assert.equal(converge(other, both).last.ip, '10.0.0.50');
  });

  it('a requested address of the other kind (external IP for an internal Service) is refused', () => {
    const fake = new FakeProject();
    fake.reserve('my-ip', '198.51.100.7', 'EXTERNAL');
    const plan = steady(fake, service('u1', { annotations: INTERNAL, requestedAddresses: ['198.51.100.7'] }));
    assert.equal(plan.problem?.reason, 'AddressNotReserved');
    assert.match(
      plan.problem?.message ?? '',
      /198\.51\.100\.7 is the external address my-ip; this Service is internal/,
    );
  });

  it('its own IP pinned in spec.loadBalancerIP: nothing changes; then internal: that external address cannot serve', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const pinned = service('u1', { requestedAddresses: ['203.0.113.10'] });
    const plan = steady(fake, pinned);
    assert.deepEqual([plan.ops, plan.ip], [[], '203.0.113.10']);
    const internal = steady(
      fake,
      service('u1', { annotations: INTERNAL, requestedAddresses: ['203.0.113.10'] }),
    );
    assert.equal(internal.problem?.reason, 'AddressNotReserved');
    assert.deepEqual(internal.ops, []);
  });

  it('the tier changes: the address must be reserved again (rules first), and the IP changes', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const standard = service('u1', { annotations: { 'cloud.google.com/network-tier': 'Standard' } });
    const { plans, last } = converge(fake, standard);
    assert.deepEqual(plans.slice(0, 3).map(summary), [
      ['delete forwardingRule'],
      ['delete address'],
      ['insert address'],
    ]);
    assert.equal(plans[0]?.changed[0]?.reason, 'RecreatingForwardingRule');
    assert.equal(last.ip, '203.0.113.11');
    assert.deepEqual(
      [fake.addresses[0]?.networkTier, fake.forwardingRules[0]?.networkTier],
      ['STANDARD', 'STANDARD'],
    );
  });
});

describe('planLoadBalancer: changes', () => {
  it('ETP Cluster → Local → Cluster: the backends move first, then the old check goes; probes always reach the nodes', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const local = service('u1', { trafficPolicy: 'Local', healthCheckNodePort: 31000 });
    const toLocal = converge(fake, local, probesReachNodes);
    assert.ok(toLocal.plans[1]?.changed.some((c) => c.reason === 'SwitchingHealthCheck'));
    assert.ok(fake.backendServices.every((b) => b.healthCheck.endsWith('-hc')));
    // The shared check stays (other Services may use it); removal deletes it when nobody does.
    assert.equal(fake.healthChecks.length, 2);

    const toCluster = converge(fake, service('u1'), probesReachNodes);
    assert.deepEqual(toCluster.plans.map(summary), [
      ['patch backendService'],
      ['delete firewall', 'delete healthCheck'],
      [],
    ]);
    assert.ok(toCluster.plans[0]?.deferred.some((d) => d.startsWith('delete health check')));
    assert.ok(toCluster.plans[0]?.deferred.some((d) => d.startsWith('delete firewall')));
    assert.deepEqual(
      fake.healthChecks.map((h) => h.name),
      [sharedHealthCheckName(CLUSTER)],
      'no per-Service check left behind',
    );
    assert.ok(!fake.firewalls.some((f) => f.name.endsWith('-hc-fw') && !SHARED_NAMES.has(f.name)));
  });

  it('the healthCheckNodePort changes: the check and its firewall are patched in place', () => {
    const fake = new FakeProject();
    converge(fake, service('u1', { trafficPolicy: 'Local', healthCheckNodePort: 31000 }));
    const { plans } = converge(fake, service('u1', { trafficPolicy: 'Local', healthCheckNodePort: 32000 }));
    assert.deepEqual(plans.map(summary), [['patch firewall', 'patch healthCheck'], []]);
    assert.equal(fake.healthChecks.find((h) => h.name.endsWith('-hc'))?.port, 32000);
  });

  it('external → internal: the internal load balancer is built, then the external one goes; something serves at every step', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const { plans, last } = converge(fake, service('u1', { annotations: INTERNAL }), (f) => {
      assert.ok(rulesOf(f, 'u1').length > 0, 'a forwarding rule serves at every step');
    });
    const replacing = plans.flatMap((p) => p.changed).filter((c) => c.reason === 'ReplacingLoadBalancer');
    assert.equal(replacing.length, 2);
    assert.match(
      replacing[0]!.message,
      /building an internal load balancer; the external one at 203\.0\.113\.10 serves/,
    );
    assert.match(
      replacing[1]!.message,
      /the internal load balancer serves at 10\.0\.0\.10; the external one at 203\.0\.113\.10 is removed/,
    );
    // While both exist the client firewall admits both IPs.
    assert.ok(
      plans.some((p) =>
        p.ops.some(
          (o) =>
            o.kind === 'patch' &&
            o.resource === 'firewall' &&
            JSON.stringify(o.spec.destinationRanges) === '["10.0.0.10","203.0.113.10"]',
        ),
      ),
    );
    assert.equal(last.ip, '10.0.0.10');
    assert.deepEqual(
      fake.owned('u1').filter((r) => /-e(-tcp|-udp)?$/.test(r)),
      [],
      'nothing of the external load balancer is left',
    );
    assert.deepEqual(fake.firewalls.find((f) => f.destinationRanges)?.destinationRanges, ['10.0.0.10']);
  });

  it('internal → external the same way', () => {
    const fake = new FakeProject();
    converge(fake, service('u1', { annotations: INTERNAL }));
    const { last } = converge(fake, service('u1'), (f) => assert.ok(rulesOf(f, 'u1').length > 0));
    assert.equal(last.ip, '203.0.113.10');
    assert.ok(fake.forwardingRules.every((r) => r.scheme === 'EXTERNAL'));
    assert.ok(fake.addresses.every((a) => a.addressType === 'EXTERNAL'));
  });

  it('five ports → six: allPorts, the rule is recreated on the same IP; the firewall still lists the ports', () => {
    const fake = new FakeProject();
    converge(fake, service('u1', { ports: ports('TCP', 1, 2, 3, 4, 5) }));
    assert.deepEqual(fake.forwardingRules[0]?.ports, [1, 2, 3, 4, 5]);
    const { plans, last } = converge(fake, service('u1', { ports: ports('TCP', 1, 2, 3, 4, 5, 6) }));
    assert.deepEqual(plans.map(summary), [
      ['delete forwardingRule', 'patch firewall'],
      ['insert forwardingRule'],
      [],
    ]);
    assert.equal(plans[0]?.changed[0]?.reason, 'RecreatingForwardingRule');
    assert.match(plans[0]?.changed[0]?.message ?? '', /ports 1,2,3,4,5 → all ports/);
    assert.equal(last.ip, '203.0.113.10');
    assert.equal(fake.forwardingRules[0]?.ports, 'all');
    assert.deepEqual(fake.firewalls.find((f) => f.destinationRanges)?.allowed, [
      { protocol: 'tcp', ports: ['1', '2', '3', '4', '5', '6'] },
    ]);
  });

  it('a protocol is added, then removed: its backend service and rule come, then go (rule first)', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const both = service('u1', { ports: [...ports('TCP', 80), ...ports('UDP', 53)] });
    const added = converge(fake, both);
    assert.deepEqual(added.plans.map(summary), [
      ['insert backendService', 'patch firewall'],
      ['insert forwardingRule'],
      [],
    ]);
    assert.deepEqual(fake.forwardingRules.map((r) => r.protocol).sort(), ['TCP', 'UDP']);
    const removed = converge(fake, service('u1', { ports: ports('UDP', 53) }));
    assert.deepEqual(removed.plans.map(summary), [
      ['delete forwardingRule', 'patch firewall'],
      ['delete backendService'],
      [],
    ]);
    assert.deepEqual(
      fake.backendServices.map((b) => b.protocol),
      ['UDP'],
    );
  });

  it('in place: session affinity (backend services with their fingerprint), source ranges (firewall)', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const fingerprint = fake.backendServices[0]?.fingerprint;
    const { plans } = converge(
      fake,
      service('u1', { sessionAffinity: 'ClientIP', sourceRanges: ['192.0.2.0/24'] }),
    );
    assert.deepEqual(plans.map(summary), [['patch backendService', 'patch firewall'], []]);
    const patch = plans[0]?.ops.find((o) => o.kind === 'patch' && o.resource === 'backendService');
    assert.equal(
      patch?.kind === 'patch' && patch.resource === 'backendService' && patch.fingerprint,
      fingerprint,
    );
  });

  it('global access changes: the internal rule is recreated on the same IP', () => {
    const fake = new FakeProject();
    converge(fake, service('u1', { annotations: INTERNAL }));
    const on = service('u1', {
      annotations: { ...INTERNAL, 'networking.gke.io/internal-load-balancer-allow-global-access': 'true' },
    });
    const { plans, last } = converge(fake, on);
    assert.deepEqual(plans.map(summary), [['delete forwardingRule'], ['insert forwardingRule'], []]);
    assert.match(plans[0]?.changed[0]?.message ?? '', /global access true/);
    assert.equal(last.ip, '10.0.0.10');
  });

  it('drift is repaired: a health check or firewall changed by hand is patched back', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    fake.healthChecks[0]!.checkIntervalSec = 30;
    fake.firewalls.find((f) => f.destinationRanges)!.sourceRanges = ['0.0.0.0/0', '10.0.0.0/8'];
    const { plans } = converge(fake, service('u1'));
    assert.deepEqual(plans.map(summary), [['patch firewall', 'patch healthCheck'], []]);
  });

  it('URLs in another form (full https://…) are the same resources: nothing to do', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const full = (u: string) => `https://compute.googleapis.com/compute/v1/${u}`;
    for (const b of fake.backendServices) {
      b.healthCheck = full(b.healthCheck);
      b.groups = b.groups.map(full).reverse();
    }
    for (const r of fake.forwardingRules) r.backendService = full(r.backendService);
    for (const g of fake.instanceGroups) g.instances = g.instances.map(full);
    assert.deepEqual(steady(fake, service('u1')).ops, []);
  });
});

describe('planLoadBalancer: nodes', () => {
  it('a node joins a zone that has a group: one addInstances for that zone', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const more = service('u1', { nodes: [...NODES, gceNode('vm-a2', 'r1-a'), gceNode('vm-a3', 'r1-a')] });
    const { plans } = converge(fake, more);
    assert.deepEqual(plans.map(summary), [['addInstances r1-a'], []]);
    const add = plans[0]?.ops[0];
    assert.deepEqual(add?.kind === 'addInstances' && add.instances, [
      'projects/p/zones/r1-a/instances/vm-a2',
      'projects/p/zones/r1-a/instances/vm-a3',
    ]);
  });

  it('a node in a new zone: its group, then its member and the backend services name the group', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const { plans } = converge(fake, service('u1', { nodes: [...NODES, gceNode('vm-c', 'r1-c')] }));
    assert.deepEqual(plans.map(summary), [
      ['insert instanceGroup'],
      ['addInstances r1-c', 'patch backendService'],
      [],
    ]);
    assert.equal(fake.backendServices[0]?.groups.length, 3);
  });

  it('nodes leave: one removeInstances per zone; an empty zone’s group stays (others may use it), out of the backends', () => {
    const fake = new FakeProject();
    const four = [...NODES, gceNode('vm-a2', 'r1-a'), gceNode('vm-b2', 'r1-b')];
    converge(fake, service('u1', { nodes: four }));
    const { plans } = converge(fake, service('u1', { nodes: [gceNode('vm-a', 'r1-a')] }));
    assert.deepEqual(plans.map(summary), [
      ['patch backendService', 'removeInstances r1-a', 'removeInstances r1-b'],
      [],
    ]);
    assert.deepEqual(
      fake.instanceGroups.map((g) => [g.zone, g.instances.length]),
      [
        ['r1-a', 1],
        ['r1-b', 0],
      ],
    );
    assert.deepEqual(fake.backendServices[0]?.groups, [fake.instanceGroups[0]?.selfLink]);
  });

  it('a node joins and another leaves in one zone: the addition first, the removal on the next step', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const swapped = service('u1', { nodes: [gceNode('vm-a9', 'r1-a'), gceNode('vm-b', 'r1-b')] });
    const { plans } = converge(fake, swapped);
    assert.deepEqual(plans.map(summary), [['addInstances r1-a'], ['removeInstances r1-a'], []]);
    assert.match(plans[0]?.deferred[0] ?? '', /remove 1 instances after the additions/);
  });

  it('two Services share the groups and the shared check: the second writes only its own resources', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const second = converge(fake, service('u2'));
    const shared = second.plans
      .flatMap((p) => p.ops)
      .filter((o) => o.kind !== 'insert' || SHARED_NAMES.has(o.spec.name));
    assert.deepEqual(shared, []);
    // A node change: whoever plans first adds it; the other then has nothing to do.
    const more = [...NODES, gceNode('vm-a2', 'r1-a')];
    assert.deepEqual(converge(fake, service('u2', { nodes: more })).plans.map(summary), [
      ['addInstances r1-a'],
      [],
    ]);
    assert.deepEqual(steady(fake, service('u1', { nodes: more })).ops, []);
  });
});

describe('planLoadBalancer: what stops it', () => {
  it('nothing new starts while an operation runs', () => {
    const intent = service('u1');
    const settings = settingsOf(intent);
    const plan = planLoadBalancer(
      intent,
      settings,
      CONFIG,
      new FakeProject().observe(intent.service, {
        settings,
        running: [{ name: 'op-1', scope: { kind: 'global' }, target: 'firewall x insert' }],
      }),
    );
    assert.deepEqual(
      [plan.ops, plan.deferred, plan.problem],
      [[], ['firewall x insert (running)'], undefined],
    );
  });

  it("a resource at one of its names that is not Sluice's: NameConflict naming it, nothing written", () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const client = fake.firewalls.find((f) => f.destinationRanges)!;
    client.description = 'made by hand';
    const plan = steady(fake, service('u1'));
    assert.equal(plan.problem?.reason, 'NameConflict');
    assert.match(plan.problem?.message ?? '', new RegExp(`firewall ${client.name}: already exist`));
    assert.deepEqual(plan.ops, []);
  });

  it("another cluster's instance group at the shared name: NameConflict", () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    fake.instanceGroups[0]!.description = ownershipDescription('another-cluster');
    const plan = steady(fake, service('u1'));
    assert.equal(plan.problem?.reason, 'NameConflict');
    assert.match(plan.problem?.message ?? '', /instance group \(r1-a\)/);
  });

  it('another Service’s resource of the same cluster is not ours either', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    fake.addresses[0]!.description = ownershipDescription(CLUSTER, { namespace: 'x', name: 'y', uid: 'u9' });
    assert.equal(steady(fake, service('u1')).problem?.reason, 'NameConflict');
  });

  const failures: Array<[string, string, string, string | undefined]> = [
    ['quota', 'forwardingRule x insert', 'QUOTA_EXCEEDED', 'QuotaExceeded'],
    ['IP in use', 'forwardingRule x insert', 'IP_IN_USE_BY_ANOTHER_RESOURCE', 'AddressInUse'],
    ['subnet full', 'address x insert', 'IP_SPACE_EXHAUSTED', 'AddressSpaceExhausted'],
    ['a reference missing', 'backendService x insert', 'RESOURCE_NOT_FOUND', 'ReferenceNotFound'],
    ['something new', 'firewall x insert', 'SOMETHING_ELSE', 'OperationFailed'],
    ['a delete of what is gone', 'firewall x delete', 'RESOURCE_NOT_FOUND', undefined],
    ['in use (a delete too early)', 'healthCheck x delete', 'RESOURCE_IN_USE_BY_ANOTHER_RESOURCE', undefined],
    ['not ready', 'backendService x patch', 'RESOURCE_NOT_READY', undefined],
    ['stale fingerprint', 'backendService x patch', 'CONDITION_NOT_MET', undefined],
    ['already exists (a retried insert)', 'address x insert', 'ALREADY_EXISTS', undefined],
    ['member already there', 'instanceGroup x addInstances 1', 'MEMBER_ALREADY_EXISTS', undefined],
    ['Compute failed inside', 'address x insert', 'INTERNAL_ERROR', undefined],
  ];
  for (const [what, target, code, reason] of failures) {
    it(`a failed operation (${what}): ${reason ?? 'retried at once, not a problem'}`, () => {
      const intent = service('u1');
      const settings = settingsOf(intent);
      const failed = [{ target, code, message: 'Compute says so' }];
      const plan = planLoadBalancer(
        intent,
        settings,
        CONFIG,
        new FakeProject().observe(intent.service, { settings, failed }),
      );
      assert.equal(plan.problem?.reason, reason);
      if (reason) {
        assert.deepEqual(plan.ops, [], 'apply reports failed: the controller backs off before the next try');
        assert.match(plan.problem?.message ?? '', new RegExp(`^${target}: ${code}: Compute says so`));
      } else assert.ok(plan.ops.length > 0, 'the plan goes on');
    });
  }

  it('after a quota failure (reported once), the next reconcile tries the same write again', () => {
    const fake = new FakeProject();
    const intent = service('u1');
    const settings = settingsOf(intent);
    const first = planLoadBalancer(intent, settings, CONFIG, fake.observe(intent.service, { settings }));
    const failed = [
      {
        target: 'address x insert',
        code: 'QUOTA_EXCEEDED',
        message:
          "Quota 'STATIC_ADDRESSES' exceeded. Limit: 8.0 in region r1. (quota metric compute.googleapis.com/static_addresses)",
      },
    ];
    const reported = planLoadBalancer(
      intent,
      settings,
      CONFIG,
      fake.observe(intent.service, { settings, failed }),
    );
    assert.equal(reported.problem?.reason, 'QuotaExceeded');
    assert.match(
      reported.problem?.message ?? '',
      /STATIC_ADDRESSES.*compute\.googleapis\.com\/static_addresses.*raise the quota/,
    );
    // Observe forgets a failure once reported: after the back-off the plan is the first one again.
    const retried = planLoadBalancer(intent, settings, CONFIG, fake.observe(intent.service, { settings }));
    assert.deepEqual(retried.ops, first.ops);
  });

  it('several failures: the first lasting one, and how many more', () => {
    const problem = failureProblem([
      { target: 'a delete', code: 'RESOURCE_IN_USE_BY_ANOTHER_RESOURCE', message: 'x' },
      { target: 'b insert', code: 'QUOTA_EXCEEDED', message: 'q' },
      { target: 'c insert', code: 'IP_IN_USE_BY_ANOTHER_RESOURCE', message: 'i' },
    ]);
    assert.equal(problem?.reason, 'QuotaExceeded');
    assert.match(problem?.message ?? '', /^b insert: QUOTA_EXCEEDED: q: .*\(and 1 more failed operations\)$/);
  });
});

describe('planRemoval', () => {
  it('deletes in dependency order (rules → address and backends → check, firewalls); shared resources stay while another Service uses them', () => {
    const fake = new FakeProject();
    converge(fake, service('u1', { trafficPolicy: 'Local', healthCheckNodePort: 31000 }));
    converge(fake, service('u2'));
    const plans = removeAll(fake, service('u1').service);
    assert.deepEqual(plans.map(summary), [
      ['delete forwardingRule'],
      ['delete address', 'delete backendService'],
      ['delete firewall', 'delete firewall', 'delete healthCheck'],
      [],
    ]);
    assert.deepEqual(fake.owned('u1'), []);
    assert.deepEqual(steady(fake, service('u2')).ops, [], 'the other Service is untouched');
    // The last Service takes the shared resources with it.
    removeAll(fake, service('u2').service);
    assert.deepEqual(fake.everything(), []);
  });

  it('the last Service: its own resources, then the shared check, its firewall and the groups', () => {
    const fake = new FakeProject();
    converge(fake, service('u1', { ports: [...ports('TCP', 80), ...ports('UDP', 53)] }));
    const plans = removeAll(fake, service('u1').service);
    assert.deepEqual(plans.map(summary), [
      ['delete forwardingRule', 'delete forwardingRule'],
      ['delete address', 'delete backendService', 'delete backendService'],
      [
        'delete firewall',
        'delete firewall',
        'delete healthCheck',
        'delete instanceGroup',
        'delete instanceGroup',
      ],
      [],
    ]);
    assert.deepEqual(fake.everything(), []);
  });

  it('who else uses the shared resources was not read: they are kept', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    removeAll(fake, service('u1').service, false);
    assert.deepEqual(
      fake
        .everything()
        .map((r) => r.split(' ')[0])
        .sort(),
      ['firewalls', 'healthChecks', 'instanceGroups', 'instanceGroups'],
    );
  });

  it('a scheme switch half done: both schemes’ resources go', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const internal = service('u1', { annotations: INTERNAL });
    const settings = settingsOf(internal);
    for (let step = 0; step < 2; step++) {
      fake.apply(
        planLoadBalancer(internal, settings, CONFIG, fake.observe(internal.service, { settings })).ops,
        internal.service,
      );
    }
    assert.ok(fake.addresses.length === 2);
    removeAll(fake, internal.service);
    assert.deepEqual(fake.everything(), []);
  });

  it('foreign resources at its names are never touched', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const client = fake.firewalls.find((f) => f.destinationRanges)!;
    client.description = 'made by hand';
    removeAll(fake, service('u1').service);
    assert.deepEqual(fake.everything(), [`firewalls ${client.name}`]);
  });

  it('nothing while an operation runs; a lasting failure is reported with the deletes still planned', () => {
    const fake = new FakeProject();
    converge(fake, service('u1'));
    const ref = service('u1').service;
    const running = planRemoval(
      ref,
      CONFIG,
      fake.observe(ref, {
        sharedUsers: true,
        running: [{ name: 'op', scope: { kind: 'region', region: R }, target: 'forwardingRule x delete' }],
      }),
    );
    assert.deepEqual([running.ops, running.deferred], [[], ['forwardingRule x delete (running)']]);
    const failed = planRemoval(
      ref,
      CONFIG,
      fake.observe(ref, {
        sharedUsers: true,
        failed: [{ target: 'address x delete', code: 'SOMETHING_ELSE', message: 'no' }],
      }),
    );
    assert.equal(failed.problem?.reason, 'OperationFailed');
    assert.ok(failed.ops.length > 0);
  });
});

// ---- Golden ----------------------------------------------------------------------------------------

const GOLDEN_DIR = fileURLToPath(new URL('./golden/gcp/', import.meta.url));
function golden(name: string, value: unknown): void {
  const file = `${GOLDEN_DIR}${name}.json`;
  // Compared as data: the file is formatted by biome (`biome check --write`) after a rewrite.
  if (process.env.SLUICE_UPDATE_GOLDEN === '1') writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  assert.deepEqual(
    JSON.parse(JSON.stringify(value)),
    JSON.parse(readFileSync(file, 'utf8')),
    `differs from ${file} (SLUICE_UPDATE_GOLDEN=1 rewrites it; review the diff)`,
  );
}

describe('golden', () => {
  it('an internal TCP+UDP Service with ETP Local, from nothing: every plan until it is ready', () => {
    const fake = new FakeProject();
    const config: GcpConfig = { ...CONFIG, nodeTags: ['gke-shop-node'] };
    const intent = plainIntent({
      service: { namespace: 'shop', name: 'dns', uid: '6f1c2a44-9b1e-4c2f-8a0d-3e5b7c9d1f20' },
      annotations: {
        ...INTERNAL,
        'networking.gke.io/internal-load-balancer-allow-global-access': 'true',
      },
      ports: [...ports('TCP', 53, 853), ...ports('UDP', 53)],
      trafficPolicy: 'Local',
      healthCheckNodePort: 30053,
      sessionAffinity: 'ClientIP',
      sourceRanges: ['10.0.0.0/8', '192.168.0.0/16'],
      nodes: [
        gceNode('gke-shop-a-1', 'r1-a'),
        gceNode('gke-shop-a-2', 'r1-a'),
        gceNode('gke-shop-b-1', 'r1-b'),
        { ...gceNode('other', 'r1-a'), providerID: 'gce://another-project/r1-a/other' },
      ],
    });
    const settings = settingsOf(intent);
    const steps: Array<Pick<GcpPlan, 'ops' | 'deferred' | 'changed' | 'ip'>> = [];
    for (let step = 0; step < 6; step++) {
      const plan = planLoadBalancer(intent, settings, config, fake.observe(intent.service, { settings }));
      steps.push({
        ops: plan.ops,
        deferred: plan.deferred,
        changed: plan.changed,
        ...(plan.ip ? { ip: plan.ip } : {}),
      });
      if (plan.ops.length === 0) break;
      fake.apply(plan.ops, intent.service);
    }
    assert.equal(steps.at(-1)?.ip, '10.0.0.10');
    golden('internal-local-tcp-udp', steps);
  });
});
