// The GCP plan, step by step against a small fake project that refuses what Compute refuses (a rule
// without its backend service, a backend service without its health check or groups, deleting what
// is still used). Each step applies the plan's writes and plans again, until nothing is left to do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadBalancerIntent, TargetNode } from '../../src/intent/types.ts';
import type {
  Existing,
  GcpConfig,
  GcpObserved,
  GcpOperation,
  GcpPlan,
} from '../../src/providers/gcp/model.ts';
import { isOwned, ownershipDescription, urls } from '../../src/providers/gcp/names.ts';
import { planLoadBalancer, planRemoval } from '../../src/providers/gcp/plan.ts';
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
const NODES: TargetNode[] = [
  { name: 'a', providerID: 'gce://p/r1-a/vm-a', labels: {}, internalAddresses: [] },
  { name: 'b', providerID: 'gce://p/r1-b/vm-b', labels: {}, internalAddresses: [] },
];
const service = (uid: string, overrides: Partial<LoadBalancerIntent> = {}) =>
  plainIntent({ service: { namespace: 'shop', name: uid, uid }, nodes: NODES, ...overrides });

const empty = (): GcpObserved => ({
  running: [],
  failed: [],
  addresses: [],
  healthChecks: [],
  backendServices: [],
  forwardingRules: [],
  firewalls: [],
  instanceGroups: [],
});

/** Applies writes as Compute would, refusing what Compute refuses. */
function applyToFake(state: GcpObserved, ops: ReadonlyArray<GcpOperation>, owner: LoadBalancerIntent): void {
  const uidPart = owner.service.uid.replace(/-/g, '');
  const description = (name: string) =>
    name.includes(uidPart)
      ? ownershipDescription(CONFIG.cluster, owner.service)
      : ownershipDescription(CONFIG.cluster);
  const existing = <S extends { name: string }>(spec: S, selfLink: string): Existing<S> => ({
    ...spec,
    selfLink,
    description: description(spec.name),
  });
  for (const op of ops) {
    if (op.kind === 'insert') {
      switch (op.resource) {
        case 'address':
          state.addresses.push(
            existing({ ...op.spec, address: op.spec.address ?? '203.0.113.10' }, `a/${op.spec.name}`),
          );
          break;
        case 'healthCheck':
          state.healthChecks.push(existing(op.spec, urls.healthCheck('p', 'r1', op.spec.name)));
          break;
        case 'instanceGroup':
          state.instanceGroups.push(existing(op.spec, urls.instanceGroup('p', op.spec.zone, op.spec.name)));
          break;
        case 'backendService':
          assert.ok(
            state.healthChecks.some((h) => h.selfLink === op.spec.healthCheck),
            'refused: no health check',
          );
          for (const g of op.spec.groups)
            assert.ok(
              state.instanceGroups.some((x) => x.selfLink === g),
              'refused: no group',
            );
          state.backendServices.push(existing(op.spec, urls.backendService('p', 'r1', op.spec.name)));
          break;
        case 'forwardingRule':
          assert.ok(
            state.backendServices.some((b) => b.selfLink === op.spec.backendService),
            'refused: no backend',
          );
          assert.ok(op.spec.ip !== '', 'refused: no IP');
          state.forwardingRules.push(existing(op.spec, `f/${op.spec.name}`));
          break;
        case 'firewall':
          state.firewalls.push(existing(op.spec, `fw/${op.spec.name}`));
          break;
      }
    } else if (op.kind === 'patch') {
      const list = {
        healthCheck: state.healthChecks,
        backendService: state.backendServices,
        firewall: state.firewalls,
      }[op.resource] as Array<Existing<{ name: string }>>;
      const index = list.findIndex((r) => r.name === op.spec.name);
      assert.ok(index >= 0, `patch of a missing ${op.resource}`);
      list[index] = { ...list[index]!, ...op.spec };
    } else if (op.kind === 'delete') {
      if (op.resource === 'healthCheck') {
        const url = urls.healthCheck('p', 'r1', op.name);
        assert.ok(!state.backendServices.some((b) => b.healthCheck === url), `refused: ${op.name} in use`);
      }
      if (op.resource === 'backendService') {
        assert.ok(!state.forwardingRules.some((f) => f.name === op.name), `refused: ${op.name} in use`);
      }
      const lists: Record<string, Array<{ name: string }>> = {
        address: state.addresses,
        healthCheck: state.healthChecks,
        backendService: state.backendServices,
        forwardingRule: state.forwardingRules,
        firewall: state.firewalls,
        instanceGroup: state.instanceGroups,
      };
      const list = lists[op.resource]!;
      list.splice(
        list.findIndex((r) => r.name === op.name),
        1,
      );
    } else {
      const group = state.instanceGroups.find((g) => g.name === op.group && g.zone === op.zone);
      assert.ok(group, 'membership of a missing group');
      group.instances =
        op.kind === 'addInstances'
          ? [...group.instances, ...op.instances].sort()
          : group.instances.filter((i) => !op.instances.includes(i));
    }
  }
}

function converge(state: GcpObserved, intent: LoadBalancerIntent): { plans: GcpPlan[]; last: GcpPlan } {
  const { settings } = readGcpSettings(intent, CONFIG);
  assert.ok(settings);
  const plans: GcpPlan[] = [];
  for (let step = 0; step < 12; step++) {
    const plan = planLoadBalancer(intent, settings, CONFIG, state);
    plans.push(plan);
    if (plan.problem || (plan.ops.length === 0 && plan.deferred.length === 0)) return { plans, last: plan };
    assert.ok(plan.ops.length > 0, `stuck with only deferred steps: ${plan.deferred.join('; ')}`);
    applyToFake(state, plan.ops, intent);
  }
  throw new Error('did not converge in 12 steps');
}

describe('planLoadBalancer', () => {
  it('a new external Service converges in dependency order; the steady state plans nothing', () => {
    const state = empty();
    const { plans, last } = converge(state, service('u1'));
    assert.equal(last.ip, '203.0.113.10');
    assert.deepEqual(
      plans[0]?.ops.map((o) => `${o.kind} ${'resource' in o ? o.resource : ''}`).sort(),
      [
        'insert address',
        'insert healthCheck',
        'insert instanceGroup',
        'insert instanceGroup',
        'insert firewall',
      ].sort(),
      'first: everything without prerequisites',
    );
    assert.ok(plans.length >= 4, `several steps (${plans.length})`);
    assert.deepEqual(
      state.instanceGroups.map((g) => g.instances),
      [['projects/p/zones/r1-a/instances/vm-a'], ['projects/p/zones/r1-b/instances/vm-b']],
    );
    const again = planLoadBalancer(
      service('u1'),
      readGcpSettings(service('u1'), CONFIG).settings!,
      CONFIG,
      state,
    );
    assert.deepEqual(again.ops, []);
  });

  it('nothing new starts while an operation runs', () => {
    const plan = planLoadBalancer(service('u1'), readGcpSettings(service('u1'), CONFIG).settings!, CONFIG, {
      ...empty(),
      running: [{ name: 'op-1', scope: { kind: 'global' }, target: 'firewall x insert' }],
    });
    assert.deepEqual(plan.ops, []);
    assert.deepEqual(plan.deferred, ['firewall x insert (running)']);
  });

  it('a quota error of a finished operation is a problem for the user; a transient one is retried', () => {
    const settings = readGcpSettings(service('u1'), CONFIG).settings!;
    const quota = planLoadBalancer(service('u1'), settings, CONFIG, {
      ...empty(),
      failed: [
        {
          target: 'forwardingRule x insert',
          code: 'QUOTA_EXCEEDED',
          message: "Quota 'FORWARDING_RULES' exceeded",
        },
      ],
    });
    assert.equal(quota.problem?.reason, 'QuotaExceeded');
    assert.match(quota.problem?.message ?? '', /FORWARDING_RULES/);
    const transient = planLoadBalancer(service('u1'), settings, CONFIG, {
      ...empty(),
      failed: [{ target: 'x', code: 'INTERNAL_ERROR', message: 'try again' }],
    });
    assert.equal(transient.problem, undefined);
    assert.ok(transient.ops.length > 0);
  });

  it("a resource at one of its names that is not Sluice's: NameConflict, nothing written", () => {
    const state = empty();
    converge(state, service('u1'));
    state.firewalls[0] = { ...state.firewalls[0]!, description: 'made by hand' };
    const plan = planLoadBalancer(
      service('u1'),
      readGcpSettings(service('u1'), CONFIG).settings!,
      CONFIG,
      state,
    );
    assert.equal(plan.problem?.reason, 'NameConflict');
    assert.deepEqual(plan.ops, []);
  });

  it('a requested external IP nobody reserved: AddressNotReserved with the gcloud command', () => {
    const intent = service('u1', { requestedAddresses: ['198.51.100.5'] });
    const plan = planLoadBalancer(intent, readGcpSettings(intent, CONFIG).settings!, CONFIG, {
      ...empty(),
      requestedAddress: 'absent',
    });
    assert.equal(plan.problem?.reason, 'AddressNotReserved');
    assert.match(plan.problem?.message ?? '', /--addresses 198\.51\.100\.5 --region r1/);
  });

  it('Local → Cluster: the backend moves to the shared check first, then its own check goes', () => {
    const state = empty();
    converge(state, service('u1', { trafficPolicy: 'Local', healthCheckNodePort: 31000 }));
    const { plans } = converge(state, service('u1'));
    assert.ok(plans[0]?.ops.some((o) => o.kind === 'insert' && o.resource === 'healthCheck'));
    assert.ok(plans[0]?.deferred.some((d) => d.startsWith('delete health check')));
    assert.equal(state.healthChecks.length, 1);
    assert.match(state.healthChecks[0]!.name, /-node-hc$/, 'only the shared check is left');
    assert.ok(!state.firewalls.some((f) => f.name.endsWith('-hc-fw') && !f.name.endsWith('-node-hc-fw')));
  });

  it('six ports → allPorts, and the rule is recreated on the same IP', () => {
    const state = empty();
    converge(state, service('u1'));
    const wide = service('u1', {
      ports: [1, 2, 3, 4, 5, 6].map((p) => ({ name: `p${p}`, protocol: 'TCP' as const, port: p })),
    });
    const { plans, last } = converge(state, wide);
    assert.equal(plans[0]?.changed[0]?.reason, 'RecreatingForwardingRule');
    assert.equal(last.ip, '203.0.113.10');
    assert.equal(state.forwardingRules[0]?.ports, 'all');
  });
});

describe('planRemoval', () => {
  it('deletes rules, then backends, then what they used; shared resources only when nobody else uses them', () => {
    const state = empty();
    const svc = service('u1');
    converge(state, svc);
    const first = planRemoval(svc.service, CONFIG, { ...state, sharedUsers: ['someone-elses-backend'] });
    assert.ok(first.ops.every((o) => o.kind === 'delete'));
    assert.ok(first.ops.some((o) => o.kind === 'delete' && o.resource === 'forwardingRule'));
    assert.ok(
      !first.ops.some((o) => o.kind === 'delete' && o.resource === 'backendService'),
      'backend waits for its rule',
    );
    applyToFake(state, first.ops, svc);
    const second = planRemoval(svc.service, CONFIG, { ...state, sharedUsers: ['someone-elses-backend'] });
    applyToFake(state, second.ops, svc);
    const third = planRemoval(svc.service, CONFIG, { ...state, sharedUsers: ['someone-elses-backend'] });
    applyToFake(state, third.ops, svc);
    assert.equal(
      [...state.addresses, ...state.backendServices, ...state.forwardingRules].filter((r) =>
        isOwned(r.description, 'kube', 'u1'),
      ).length,
      0,
    );
    assert.equal(state.instanceGroups.length, 2, 'groups stay while another backend uses them');
    assert.ok(state.healthChecks.length === 1, 'the shared check stays');
    const last = planRemoval(svc.service, CONFIG, { ...state, sharedUsers: [] });
    applyToFake(state, last.ops, svc);
    assert.deepEqual([state.instanceGroups, state.healthChecks, state.firewalls], [[], [], []]);
  });
});
