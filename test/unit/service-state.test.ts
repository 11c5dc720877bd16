import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Condition, V1LoadBalancerIngress, V1Service } from '@kubernetes/client-node';
import {
  CONDITION_TYPE,
  type DesiredCondition,
  FINALIZER,
  hasFinalizer,
  isManaged,
  ourCondition,
  publishedAddresses,
  type Selection,
  statusChange,
  withFinalizer,
  withoutFinalizer,
} from '../../src/controller/service-state.ts';
import type { Ingress } from '../../src/providers/provider.ts';

const CLASS = 'sluice.dev/lb';
const EARLIER = new Date('2024-01-01T00:00:00Z');
const NOW = new Date('2024-06-01T12:00:00Z');

function lbService(cls?: string, type = 'LoadBalancer'): V1Service {
  return {
    metadata: { name: 'web' },
    spec: { type, ...(cls === undefined ? {} : { loadBalancerClass: cls }) },
  };
}

describe('isManaged', () => {
  const cases: Array<[string, V1Service, Selection, boolean]> = [
    ['our class', lbService(CLASS), { loadBalancerClass: CLASS, manageUnclassed: false }, true],
    [
      'our class, unclassed also managed',
      lbService(CLASS),
      { loadBalancerClass: CLASS, manageUnclassed: true },
      true,
    ],
    ['another class', lbService('other.io/lb'), { loadBalancerClass: CLASS, manageUnclassed: true }, false],
    [
      'no class, unclassed not managed',
      lbService(),
      { loadBalancerClass: CLASS, manageUnclassed: false },
      false,
    ],
    ['no class, unclassed managed', lbService(), { loadBalancerClass: CLASS, manageUnclassed: true }, true],
    [
      'empty class, unclassed managed',
      lbService(''),
      { loadBalancerClass: CLASS, manageUnclassed: true },
      true,
    ],
    [
      'empty class, unclassed not managed',
      lbService(''),
      { loadBalancerClass: CLASS, manageUnclassed: false },
      false,
    ],
    [
      'ClusterIP with our class',
      lbService(CLASS, 'ClusterIP'),
      { loadBalancerClass: CLASS, manageUnclassed: true },
      false,
    ],
    [
      'NodePort, no class',
      lbService(undefined, 'NodePort'),
      { loadBalancerClass: CLASS, manageUnclassed: true },
      false,
    ],
    ['no spec', { metadata: { name: 'x' } }, { loadBalancerClass: CLASS, manageUnclassed: true }, false],
  ];
  for (const [name, service, selection, want] of cases) {
    it(`${name} → ${want}`, () => {
      assert.equal(isManaged(service, selection), want);
    });
  }
});

describe('finalizer helpers', () => {
  const withFinalizers = (finalizers?: string[]): V1Service => ({
    metadata: { name: 'web', ...(finalizers ? { finalizers } : {}) },
  });

  it('hasFinalizer', () => {
    assert.equal(hasFinalizer(withFinalizers()), false);
    assert.equal(hasFinalizer(withFinalizers([])), false);
    assert.equal(hasFinalizer(withFinalizers(['other.io/x'])), false);
    assert.equal(hasFinalizer(withFinalizers(['other.io/x', FINALIZER])), true);
    assert.equal(hasFinalizer({}), false);
  });

  it('withFinalizer appends ours and keeps others, without mutating the Service', () => {
    const service = withFinalizers(['other.io/x']);
    assert.deepEqual(withFinalizer(service), ['other.io/x', FINALIZER]);
    assert.deepEqual(service.metadata?.finalizers, ['other.io/x']);
    assert.deepEqual(withFinalizer(withFinalizers()), [FINALIZER]);
  });

  it('withoutFinalizer removes only ours, without mutating the Service', () => {
    const service = withFinalizers(['a.io/x', FINALIZER, 'b.io/y']);
    assert.deepEqual(withoutFinalizer(service), ['a.io/x', 'b.io/y']);
    assert.deepEqual(service.metadata?.finalizers, ['a.io/x', FINALIZER, 'b.io/y']);
    assert.deepEqual(withoutFinalizer(withFinalizers()), []);
    assert.deepEqual(withoutFinalizer(withFinalizers(['a.io/x'])), ['a.io/x']);
  });
});

describe('publishedAddresses and ourCondition', () => {
  it('lists only ip entries', () => {
    const service: V1Service = {
      status: {
        loadBalancer: {
          ingress: [{ ip: '192.0.2.1' }, { hostname: 'lb.example.com' }, { ip: '2001:db8::1' }],
        },
      },
    };
    assert.deepEqual(publishedAddresses(service), ['192.0.2.1', '2001:db8::1']);
    assert.deepEqual(publishedAddresses({}), []);
  });

  it('finds our condition among others', () => {
    const ours = condition('True', 'Ready', 'ok');
    const service: V1Service = { status: { conditions: [otherCondition, ours] } };
    assert.equal(ourCondition(service), ours);
    assert.equal(ourCondition({ status: { conditions: [otherCondition] } }), undefined);
  });
});

const otherCondition: V1Condition = {
  type: 'SomeoneElse',
  status: 'True',
  reason: 'Fine',
  message: 'not ours',
  lastTransitionTime: EARLIER,
};

function condition(
  status: 'True' | 'False',
  reason: string,
  message: string,
  observedGeneration: number | null = 3,
): V1Condition {
  return {
    type: CONDITION_TYPE,
    status,
    reason,
    message,
    lastTransitionTime: EARLIER,
    ...(observedGeneration === null ? {} : { observedGeneration }),
  };
}

function serviceWith(
  ingress: V1LoadBalancerIngress[] | undefined,
  conditions: V1Condition[] | undefined,
  generation: number | null = 3,
): V1Service {
  return {
    metadata: { name: 'web', ...(generation === null ? {} : { generation }) },
    spec: { type: 'LoadBalancer' },
    status: {
      ...(ingress === undefined ? {} : { loadBalancer: { ingress } }),
      ...(conditions === undefined ? {} : { conditions }),
    },
  };
}

const READY: DesiredCondition = { status: 'True', reason: 'Ready', message: 'load balancer at 192.0.2.1' };
const PUBLISHED: Ingress[] = [{ ip: '192.0.2.1', ipMode: 'VIP' }];

describe('statusChange: steady state writes nothing', () => {
  const cases: Array<[string, V1Service, Ingress[] | null | undefined, DesiredCondition | null]> = [
    [
      'same ingress and same condition',
      serviceWith([{ ip: '192.0.2.1', ipMode: 'VIP' }], [condition('True', 'Ready', READY.message)]),
      PUBLISHED,
      READY,
    ],
    [
      'ipMode absent on the Service compares equal to VIP',
      serviceWith([{ ip: '192.0.2.1' }], [condition('True', 'Ready', READY.message)]),
      PUBLISHED,
      READY,
    ],
    [
      'ipMode absent on both sides',
      serviceWith([{ ip: '192.0.2.1' }], [condition('True', 'Ready', READY.message)]),
      [{ ip: '192.0.2.1' }],
      READY,
    ],
    [
      'hostname ingress',
      serviceWith([{ hostname: 'lb.example.com' }], [condition('True', 'Ready', READY.message)]),
      [{ hostname: 'lb.example.com' }],
      READY,
    ],
    [
      'ingress undefined and same condition',
      serviceWith([{ ip: '192.0.2.1' }], [condition('True', 'Ready', READY.message)]),
      undefined,
      READY,
    ],
    [
      'ingress null with nothing published, condition null with none present',
      serviceWith(undefined, [otherCondition]),
      null,
      null,
    ],
    ['empty ingress with nothing published', serviceWith([], undefined), [], null],
    [
      'no generation anywhere',
      serviceWith([{ ip: '192.0.2.1' }], [condition('True', 'Ready', READY.message, null)], null),
      PUBLISHED,
      READY,
    ],
    [
      'other controllers conditions present',
      serviceWith([{ ip: '192.0.2.1' }], [otherCondition, condition('True', 'Ready', READY.message)]),
      PUBLISHED,
      READY,
    ],
  ];
  for (const [name, service, ingress, cond] of cases) {
    it(name, () => {
      assert.equal(statusChange(service, ingress, cond, NOW), undefined);
    });
  }
});

describe('statusChange: condition', () => {
  it('adds our condition to a fresh Service, stamped now, with the generation', () => {
    const change = statusChange(serviceWith(undefined, undefined), PUBLISHED, READY, NOW);
    assert.deepEqual(change, {
      loadBalancer: { ingress: PUBLISHED },
      conditions: [{ type: CONDITION_TYPE, ...READY, lastTransitionTime: NOW, observedGeneration: 3 }],
    });
  });

  it('omits observedGeneration when the Service has no generation', () => {
    const change = statusChange(serviceWith(undefined, undefined, null), undefined, READY, NOW);
    assert.deepEqual(change, {
      loadBalancer: {},
      conditions: [{ type: CONDITION_TYPE, ...READY, lastTransitionTime: NOW }],
    });
  });

  const changes: Array<[string, V1Condition, DesiredCondition, Date]> = [
    [
      'message changes, status same → keeps transition time',
      condition('True', 'Ready', 'old'),
      READY,
      EARLIER,
    ],
    [
      'reason changes, status same → keeps transition time',
      condition('True', 'Old', READY.message),
      READY,
      EARLIER,
    ],
    [
      'generation changes, status same → keeps transition time',
      condition('True', 'Ready', READY.message, 2),
      READY,
      EARLIER,
    ],
    ['status flips False → True → now', condition('False', 'Ready', READY.message), READY, NOW],
    [
      'status flips True → False → now',
      condition('True', 'Ready', READY.message),
      { status: 'False', reason: 'Ready', message: READY.message },
      NOW,
    ],
  ];
  for (const [name, current, desired, transition] of changes) {
    it(name, () => {
      const service = serviceWith([{ ip: '192.0.2.1' }], [otherCondition, current]);
      const change = statusChange(service, PUBLISHED, desired, NOW);
      assert.deepEqual(change, {
        loadBalancer: {},
        conditions: [
          otherCondition,
          { type: CONDITION_TYPE, ...desired, lastTransitionTime: transition, observedGeneration: 3 },
        ],
      });
    });
  }

  it('condition null removes ours and keeps the others', () => {
    const service = serviceWith([{ ip: '192.0.2.1' }], [condition('True', 'Ready', 'x'), otherCondition]);
    assert.deepEqual(statusChange(service, undefined, null, NOW), {
      loadBalancer: {},
      conditions: [otherCondition],
    });
  });

  it('condition null with ours the only one sends conditions null', () => {
    const service = serviceWith([{ ip: '192.0.2.1' }], [condition('True', 'Ready', 'x')]);
    assert.deepEqual(statusChange(service, undefined, null, NOW), { loadBalancer: {}, conditions: null });
  });

  it('does not mutate the Service', () => {
    const service = serviceWith(
      [{ ip: '192.0.2.1' }],
      [otherCondition, condition('False', 'Pending', 'wait')],
    );
    const before = structuredClone(service);
    statusChange(service, [{ ip: '192.0.2.9' }], READY, NOW);
    assert.deepEqual(service, before);
  });
});

describe('statusChange: ingress', () => {
  const steadyCondition = [condition('True', 'Ready', READY.message)];

  it('undefined never clears published addresses, even when the condition changes', () => {
    const service = serviceWith([{ ip: '192.0.2.1' }], steadyCondition);
    const failing: DesiredCondition = { status: 'False', reason: 'ProviderError', message: 'boom' };
    const change = statusChange(service, undefined, failing, NOW);
    assert.ok(change);
    assert.deepEqual(change.loadBalancer, {});
    assert.equal('ingress' in change.loadBalancer, false);
  });

  it('null clears published addresses and removes our condition', () => {
    const service = serviceWith([{ ip: '192.0.2.1' }], [otherCondition, ...steadyCondition]);
    assert.deepEqual(statusChange(service, null, null, NOW), {
      loadBalancer: { ingress: null },
      conditions: [otherCondition],
    });
  });

  it('null clears addresses with no conditions left → conditions null', () => {
    const service = serviceWith([{ ip: '192.0.2.1' }], steadyCondition);
    assert.deepEqual(statusChange(service, null, null, NOW), {
      loadBalancer: { ingress: null },
      conditions: null,
    });
  });

  it('an empty list clears published addresses (sent as null)', () => {
    const service = serviceWith([{ ip: '192.0.2.1' }], steadyCondition);
    assert.deepEqual(statusChange(service, [], READY, NOW), {
      loadBalancer: { ingress: null },
      conditions: steadyCondition,
    });
  });

  const differing: Array<[string, V1LoadBalancerIngress[], Ingress[]]> = [
    ['nothing published yet', [], [{ ip: '192.0.2.1' }]],
    ['different address', [{ ip: '192.0.2.1' }], [{ ip: '192.0.2.2' }]],
    ['an address added', [{ ip: '192.0.2.1' }], [{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }]],
    ['an address removed', [{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }], [{ ip: '192.0.2.1' }]],
    [
      'same addresses, other order',
      [{ ip: '2001:db8::1' }, { ip: '192.0.2.1' }],
      [{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }],
    ],
    ['ipMode VIP → Proxy', [{ ip: '192.0.2.1' }], [{ ip: '192.0.2.1', ipMode: 'Proxy' }]],
    ['hostname changes', [{ hostname: 'a.example.com' }], [{ hostname: 'b.example.com' }]],
  ];
  for (const [name, published, wanted] of differing) {
    it(`writes when ${name}, keeping the condition as it is`, () => {
      const service = serviceWith(published, steadyCondition);
      assert.deepEqual(statusChange(service, wanted, READY, NOW), {
        loadBalancer: { ingress: wanted },
        conditions: steadyCondition,
      });
    });
  }
});
