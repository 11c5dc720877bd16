import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ServiceFacts, type SharingFacts, sharingRefusal } from '../../src/providers/pool/sharing.ts';

function facts(key: string, sharing?: Partial<SharingFacts>): ServiceFacts {
  const namespace = key.slice(0, key.indexOf('/'));
  return {
    key,
    namespace,
    labels: {},
    namespaceLabels: {},
    ...(sharing
      ? {
          sharing: {
            key: 'k',
            crossNamespace: [],
            ports: [{ protocol: 'TCP', port: 80 }],
            backendKey: '',
            ...sharing,
          },
        }
      : {}),
  };
}

describe('sharingRefusal (MetalLB rules)', () => {
  const cases: {
    name: string;
    candidate: ServiceFacts;
    holder: ServiceFacts;
    want?: { reason: 'AddressInUse' | 'SharingConflict'; message: string };
  }[] = [
    {
      name: 'same key, different ports: may share',
      candidate: facts('a/one', { ports: [{ protocol: 'TCP', port: 443 }] }),
      holder: facts('a/two', { ports: [{ protocol: 'TCP', port: 80 }] }),
    },
    {
      name: 'TCP/53 and UDP/53 may share',
      candidate: facts('a/dns-udp', { ports: [{ protocol: 'UDP', port: 53 }] }),
      holder: facts('a/dns-tcp', { ports: [{ protocol: 'TCP', port: 53 }] }),
    },
    {
      name: 'same protocol and port: refused, naming the port',
      candidate: facts('a/one', {
        ports: [
          { protocol: 'TCP', port: 443 },
          { protocol: 'TCP', port: 80 },
        ],
      }),
      holder: facts('a/two', { ports: [{ protocol: 'TCP', port: 80 }] }),
      want: { reason: 'SharingConflict', message: 'port TCP/80 is already used on 192.0.2.5 by Service two' },
    },
    {
      name: 'different keys',
      candidate: facts('a/one', { key: 'x', ports: [{ protocol: 'TCP', port: 81 }] }),
      holder: facts('a/two', { key: 'y' }),
      want: {
        reason: 'SharingConflict',
        message: '192.0.2.5 is held by Service two with a different sharing key',
      },
    },
    {
      name: 'candidate without key',
      candidate: facts('a/one'),
      holder: facts('a/two', {}),
      want: {
        reason: 'AddressInUse',
        message:
          '192.0.2.5 is already assigned to Service two (to share it, give this Service the same sharing key)',
      },
    },
    {
      name: 'holder without key',
      candidate: facts('a/one', {}),
      holder: facts('a/two'),
      want: { reason: 'AddressInUse', message: '192.0.2.5 is already assigned to Service two' },
    },
    {
      name: 'Local with different selectors',
      candidate: facts('a/one', { backendKey: 'app=web', ports: [{ protocol: 'TCP', port: 81 }] }),
      holder: facts('a/two', { backendKey: 'app=api' }),
      want: {
        reason: 'SharingConflict',
        message:
          '192.0.2.5 is held by Service two with other backends: Services sharing an address must have the same externalTrafficPolicy and, for Local, the same spec.selector',
      },
    },
    {
      name: 'Local with the same selector',
      candidate: facts('a/one', { backendKey: 'app=web', ports: [{ protocol: 'UDP', port: 80 }] }),
      holder: facts('a/two', { backendKey: 'app=web' }),
    },
    {
      name: 'Local against Cluster',
      candidate: facts('a/one', { backendKey: 'app=web', ports: [{ protocol: 'UDP', port: 80 }] }),
      holder: facts('a/two', { backendKey: '' }),
      want: {
        reason: 'SharingConflict',
        message:
          '192.0.2.5 is held by Service two with other backends: Services sharing an address must have the same externalTrafficPolicy and, for Local, the same spec.selector',
      },
    },
    {
      name: 'cross-namespace without opt-in: never names the other Service',
      candidate: facts('a/one', { ports: [{ protocol: 'TCP', port: 81 }] }),
      holder: facts('b/secret', {}),
      want: {
        reason: 'SharingConflict',
        message:
          "192.0.2.5 is held by a Service in another namespace; sharing across namespaces needs both Services to list each other's namespace (or '*') in sluice.dev/sharing-cross-namespace",
      },
    },
    {
      name: 'cross-namespace, only one side opted in',
      candidate: facts('a/one', { crossNamespace: ['b'], ports: [{ protocol: 'TCP', port: 81 }] }),
      holder: facts('b/secret', {}),
      want: {
        reason: 'SharingConflict',
        message:
          "192.0.2.5 is held by a Service in another namespace; sharing across namespaces needs both Services to list each other's namespace (or '*') in sluice.dev/sharing-cross-namespace",
      },
    },
    {
      name: 'cross-namespace, both opted in',
      candidate: facts('a/one', { crossNamespace: ['b'], ports: [{ protocol: 'TCP', port: 81 }] }),
      holder: facts('b/two', { crossNamespace: ['a'] }),
    },
    {
      name: "cross-namespace with '*' on both sides",
      candidate: facts('a/one', { crossNamespace: ['*'], ports: [{ protocol: 'TCP', port: 81 }] }),
      holder: facts('b/two', { crossNamespace: ['*'] }),
    },
    {
      name: 'cross-namespace, port clash: the other Service is not named',
      candidate: facts('a/one', { crossNamespace: ['*'] }),
      holder: facts('b/two', { crossNamespace: ['*'] }),
      want: {
        reason: 'SharingConflict',
        message: 'port TCP/80 is already used on 192.0.2.5 by a Service in another namespace',
      },
    },
    {
      name: 'cross-namespace without a key on the holder',
      candidate: facts('a/one', {}),
      holder: facts('b/two'),
      want: {
        reason: 'AddressInUse',
        message: '192.0.2.5 is already assigned to a Service in another namespace',
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(sharingRefusal(c.candidate, c.holder, '192.0.2.5'), c.want);
    });
  }

  it('is symmetric in whether sharing is allowed', () => {
    for (const c of cases) {
      const forward = sharingRefusal(c.candidate, c.holder, 'x') === undefined;
      const backward = sharingRefusal(c.holder, c.candidate, 'x') === undefined;
      assert.equal(forward, backward, c.name);
    }
  });
});
