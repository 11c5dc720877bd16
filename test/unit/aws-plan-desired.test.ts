import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadBalancerIntent } from '../../src/intent/types.ts';
import {
  ADDITIONAL_TAG_KEYS_TAG,
  type DesiredResult,
  type DesiredState,
  desiredState,
  type Notice,
} from '../../src/providers/aws/desired.ts';
import type { AwsEnvironment, AwsSettings } from '../../src/providers/aws/model.ts';
import { nodeRuleDescription } from '../../src/providers/aws/names.ts';
import { CERT_A, CLUSTER, environment, intent, node, settings } from './aws-plan-fixtures.ts';

function ok(result: DesiredResult): DesiredState {
  if (result.kind !== 'ok') assert.fail(`${result.failure.reason}: ${result.failure.message}`);
  return result.state;
}

function failed(result: DesiredResult): Notice {
  if (result.kind !== 'failed') assert.fail('expected a failure');
  return result.failure;
}

const desired = (
  i: Partial<LoadBalancerIntent> = {},
  s: Partial<AwsSettings> = {},
  env: AwsEnvironment = environment(),
): DesiredResult => desiredState(intent(i), settings(s), env, CLUSTER);

const subnetIds = (state: DesiredState) => state.loadBalancer.subnetMappings.map((m) => m.subnetId);

describe('desiredState: subnets', () => {
  it('discovers one subnet per zone for the scheme: this cluster’s first, then the lowest ID; not another cluster’s', () => {
    assert.deepEqual(subnetIds(ok(desired())), ['subnet-0a1', 'subnet-0b1']);
    assert.deepEqual(subnetIds(ok(desired({ internal: true }, { scheme: 'internal' }))), [
      'subnet-1a1',
      'subnet-1b1',
    ]);
    const env = environment();
    delete env.subnets.find((s) => s.id === 'subnet-0a1')!.tags[`kubernetes.io/cluster/${CLUSTER}`];
    assert.deepEqual(
      subnetIds(ok(desired({}, {}, env))),
      ['subnet-0a0', 'subnet-0b1'],
      'lowest ID when none tagged',
    );
  });

  it('no subnet for the scheme: NoSubnets, saying which tags to add or which annotation to set', () => {
    const env = environment();
    for (const s of env.subnets) delete s.tags['kubernetes.io/role/elb'];
    const failure = failed(desired({}, {}, env));
    assert.equal(failure.reason, 'NoSubnets');
    assert.match(failure.message, /kubernetes\.io\/role\/elb=1/);
    assert.match(failure.message, /kubernetes\.io\/cluster\/prod=shared/);
    assert.match(failure.message, /aws-load-balancer-subnets/);
    assert.match(
      failed(desired({}, { scheme: 'internal', subnets: undefined }, { ...env, subnets: [] })).message,
      /internal-elb/,
    );
  });

  it('dualstack needs subnets with an IPv6 CIDR', () => {
    assert.match(failed(desired({}, { ipAddressType: 'dualstack' })).message, /with an IPv6 CIDR/);
    const env = environment();
    env.subnets.find((s) => s.id === 'subnet-0b1')!.ipv6Cidrs = ['2600:1f18::/64'];
    assert.deepEqual(subnetIds(ok(desired({}, { ipAddressType: 'dualstack' }, env))), ['subnet-0b1']);
  });

  it('annotation: by ID or Name tag, in its order; unknown, ambiguous, same zone and other VPC refused', () => {
    assert.deepEqual(subnetIds(ok(desired({}, { subnets: ['public-b', 'subnet-0a0'] }))), [
      'subnet-0b1',
      'subnet-0a0',
    ]);
    const unknown = failed(desired({}, { subnets: ['public-b', 'nope'] }));
    assert.deepEqual([unknown.reason, /nope/.test(unknown.message)], ['InvalidAnnotation', true]);
    const env = environment();
    env.subnets.push({ ...env.subnets[2]!, id: 'subnet-0b2' });
    assert.match(
      failed(desired({}, { subnets: ['public-b'] }, env)).message,
      /several subnets have the Name tag public-b/,
    );
    assert.match(
      failed(desired({}, { subnets: ['subnet-0a0', 'public-a'] })).message,
      /subnet-0a0 and subnet-0a1 are both in us-east-1a/,
    );
    const otherVpc = environment();
    otherVpc.subnets.push({
      ...otherVpc.subnets[0]!,
      id: 'subnet-9',
      vpcId: 'vpc-2',
      availabilityZone: 'us-east-1d',
    });
    assert.match(failed(desired({}, { subnets: ['subnet-0a1', 'subnet-9'] }, otherVpc)).message, /one VPC/);
  });
});

describe('desiredState: EIPs and private addresses', () => {
  it('EIP allocations pair with the subnets in order; the count must match', () => {
    const state = ok(desired({}, { eipAllocations: ['eipalloc-a', 'eipalloc-b'] }));
    assert.deepEqual(state.loadBalancer.subnetMappings, [
      { subnetId: 'subnet-0a1', allocationId: 'eipalloc-a' },
      { subnetId: 'subnet-0b1', allocationId: 'eipalloc-b' },
    ]);
    const failure = failed(desired({}, { eipAllocations: ['eipalloc-a'] }));
    assert.equal(failure.reason, 'InvalidAnnotation');
    assert.match(
      failure.message,
      /lists 1 allocations but the load balancer has 2 subnets \(subnet-0a1, subnet-0b1\)/,
    );
  });

  it('private addresses go to the subnet whose CIDR holds them, whatever their order', () => {
    const state = ok(
      desired({ internal: true }, { scheme: 'internal', privateIPv4Addresses: ['10.0.21.50', '10.0.20.50'] }),
    );
    assert.deepEqual(state.loadBalancer.subnetMappings, [
      { subnetId: 'subnet-1a1', privateIPv4Address: '10.0.20.50' },
      { subnetId: 'subnet-1b1', privateIPv4Address: '10.0.21.50' },
    ]);
  });

  it('a private address outside every subnet, two in one subnet, or the wrong count: InvalidAnnotation', () => {
    const internal = { scheme: 'internal' as const };
    const outside = failed(desired({}, { ...internal, privateIPv4Addresses: ['10.0.20.50', '10.9.0.1'] }));
    assert.equal(outside.reason, 'InvalidAnnotation');
    assert.match(outside.message, /10\.9\.0\.1 is in none of the subnets subnet-1a1 \(10\.0\.20\.0\/24\)/);
    assert.match(
      failed(desired({}, { ...internal, privateIPv4Addresses: ['10.0.20.50', '10.0.20.51'] })).message,
      /10\.0\.20\.50 and 10\.0\.20\.51 are both in subnet-1a1/,
    );
    assert.match(
      failed(desired({}, { ...internal, privateIPv4Addresses: ['10.0.20.50'] })).message,
      /exactly one per subnet/,
    );
  });
});

describe('desiredState: frontend security groups', () => {
  it('by default a managed group with a rule per listener port and source range, and ICMP for path MTU', () => {
    const state = ok(desired({}, { sourceRanges: ['203.0.113.0/24', '2001:db8::/32'] }));
    const fe = state.frontendSecurityGroup!;
    assert.deepEqual(
      fe.rules.map((r) => `${r.protocol} ${r.fromPort}-${r.toPort} ${r.cidr}`),
      [
        'tcp 443-443 203.0.113.0/24',
        'tcp 443-443 2001:db8::/32',
        'tcp 80-80 203.0.113.0/24',
        'tcp 80-80 2001:db8::/32',
        'udp 53-53 203.0.113.0/24',
        'udp 53-53 2001:db8::/32',
        'icmp 3-4 203.0.113.0/24',
        'icmpv6 2-0 2001:db8::/32',
      ],
    );
    assert.deepEqual(state.loadBalancer.securityGroupIds, []);
  });

  it('the user’s groups replace the managed one; extra groups are added; names resolve to IDs', () => {
    const env = environment();
    env.namedSecurityGroups = [
      { ref: 'edge', id: 'sg-0edge' },
      { ref: 'sg-0ops', id: 'sg-0ops' },
    ];
    const byo = ok(desired({}, { securityGroups: ['edge'], extraSecurityGroups: ['sg-0ops'] }, env));
    assert.equal(byo.frontendSecurityGroup, undefined);
    assert.deepEqual(byo.loadBalancer.securityGroupIds, ['sg-0edge', 'sg-0ops']);
    const extra = ok(desired({}, { extraSecurityGroups: ['sg-0ops'] }, env));
    assert.ok(extra.frontendSecurityGroup);
    assert.deepEqual(extra.loadBalancer.securityGroupIds, ['sg-0ops']);
  });

  it('a named group that does not exist: SecurityGroupNotFound naming it and its annotation', () => {
    const env = environment();
    env.namedSecurityGroups = [{ ref: 'edge' }];
    const failure = failed(desired({}, { securityGroups: ['edge'], extraSecurityGroups: ['sg-0gone'] }, env));
    assert.equal(failure.reason, 'SecurityGroupNotFound');
    assert.match(failure.message, /edge \(aws-load-balancer-security-groups\)/);
    assert.match(failure.message, /sg-0gone \(aws-load-balancer-extra-security-groups\)/);
  });
});

describe('desiredState: targets', () => {
  const targetsOf = (state: DesiredState, port: number) =>
    state.targetGroups.find((tg) => tg.servicePort === port)!.targets;

  it('instance targets: the nodes with the target node labels, with an instance in the VPC, on the NodePort', () => {
    const env = environment();
    env.instances.push({
      nodeName: 'node-c',
      instanceId: 'i-0ccc',
      vpcId: 'vpc-9',
      securityGroupIds: ['sg-node'],
    });
    const result = desired(
      { nodes: [node('node-a', { gpu: '' }), node('node-b'), node('node-c', { gpu: '' })] },
      {
        targetNodeLabels: { gpu: undefined },
      },
      env,
    );
    assert.deepEqual(targetsOf(ok(result), 80), [{ id: 'i-0aaa', port: 30080 }]);
    assert.deepEqual(
      result.notices.map((n) => n.reason),
      ['NodesInOtherVpc'],
    );
    const none = desired({}, { targetNodeLabels: { pool: 'gpu' } });
    assert.deepEqual(targetsOf(ok(none), 80), []);
    assert.match(none.notices[0]!.message, /no node has the labels .*\(pool=gpu\)/);
  });

  it('a port without a NodePort cannot have instance targets: InvalidSpec', () => {
    const ports = intent().ports.map((p) => (p.port === 80 ? { ...p, nodePort: undefined } : p));
    const failure = failed(desired({ ports }));
    assert.equal(failure.reason, 'InvalidSpec');
    assert.match(failure.message, /port 80\/TCP has no nodePort/);
    assert.ok(ok(desired({ ports }, { targetType: 'ip' })));
  });

  it('ip targets: the endpoints’ port with the Service port’s name and protocol, of the group’s family', () => {
    const endpoints: LoadBalancerIntent['endpoints'] = [
      {
        address: '10.0.1.10',
        family: 'IPv4',
        ports: [
          { name: '', protocol: 'TCP', port: 8080 },
          { name: '', protocol: 'UDP', port: 9999 },
        ],
      },
      { address: '10.0.1.11', family: 'IPv4', ports: [{ name: '', protocol: 'TCP', port: 8081 }] },
      { address: 'fd00::11', family: 'IPv6', ports: [{ name: '', protocol: 'TCP', port: 8080 }] },
    ];
    const ports: LoadBalancerIntent['ports'] = [
      { protocol: 'TCP', port: 80, nodePort: 30080, targetPort: 'web' },
    ];
    const state = ok(desired({ ports, endpoints }, { targetType: 'ip', tls: undefined }));
    const [tg] = state.targetGroups;
    assert.deepEqual(tg!.targets, [
      { id: '10.0.1.10', port: 8080 },
      { id: '10.0.1.11', port: 8081 },
    ]);
    assert.equal(tg!.port, 1, 'a named targetPort: a placeholder port that does not follow the Pods');
    assert.equal(tg!.ipAddressType, 'ipv4');
    const numeric = ok(
      desired({ ports: [{ ...ports[0]!, targetPort: 8080 }], endpoints }, { targetType: 'ip' }),
    );
    assert.equal(numeric.targetGroups[0]!.port, 8080);
    const defaulted = ok(
      desired({ ports: [{ ...ports[0]!, targetPort: undefined }], endpoints }, { targetType: 'ip' }),
    );
    assert.equal(defaulted.targetGroups[0]!.port, 80);
  });

  it('ip targets on a dualstack NLB for an IPv6-first Service: an IPv6 target group of the IPv6 endpoints', () => {
    const env = environment();
    for (const s of env.subnets) s.ipv6Cidrs = ['2600:1f18::/56'];
    env.vpcCidrs = ['10.0.0.0/16', '2600:1f18::/56'];
    const endpoints: LoadBalancerIntent['endpoints'] = [
      { address: '10.0.1.10', family: 'IPv4', ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] },
      { address: '2600:1f18::10', family: 'IPv6', ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] },
    ];
    const state = ok(
      desired(
        { ipFamilies: ['IPv6', 'IPv4'], endpoints, ports: [intent().ports[1]!] },
        { targetType: 'ip', ipAddressType: 'dualstack', sourceRanges: ['0.0.0.0/0', '::/0'] },
        env,
      ),
    );
    const [tg] = state.targetGroups;
    assert.equal(tg!.ipAddressType, 'ipv6');
    assert.deepEqual(tg!.targets, [{ id: '2600:1f18::10', port: 8080 }]);
    // preserve_client_ip is on in the fixture settings: IPv6 clients from ::/0; IPv4 clients arrive translated
    // from the load balancer's own (VPC) addresses.
    const client = state.nodeRules[0]!.rules.filter((r) => r.description.includes('/client='));
    assert.deepEqual(
      client.map((r) => r.cidr),
      ['::/0', '2600:1f18::/56'],
    );
  });
});

describe('desiredState: health checks', () => {
  const hc = (state: DesiredState, port: number) =>
    state.targetGroups.find((tg) => tg.servicePort === port)!.healthCheck;

  it('UDP behind instance targets (Cluster): kube-proxy’s /healthz on 10256, not a probe of the UDP port', () => {
    const state = ok(desired());
    assert.deepEqual(hc(state, 53), {
      protocol: 'HTTP',
      port: 10256,
      path: '/healthz',
      successCodes: '200-399',
      intervalSeconds: 10,
      timeoutSeconds: 10,
      healthyThreshold: 3,
      unhealthyThreshold: 3,
    });
    assert.deepEqual(hc(state, 80), settings().healthCheck);
  });

  it('externalTrafficPolicy Local: the settings’ check on the health-check NodePort, for every port', () => {
    const local = {
      protocol: 'HTTP' as const,
      port: 32000,
      path: '/healthz',
      intervalSeconds: 10,
      timeoutSeconds: 6,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    };
    const state = ok(desired({ trafficPolicy: 'Local', healthCheckNodePort: 32000 }, { healthCheck: local }));
    for (const port of [443, 80, 53])
      assert.deepEqual(hc(state, port), { ...local, successCodes: '200-399' });
    const health = state.nodeRules[0]!.rules.filter((r) => r.description.includes('/health='));
    assert.deepEqual(
      health.map((r) => `${r.fromPort} ${r.cidr}`),
      ['32000 10.0.0.0/16'],
    );
  });

  it('a TCP client rule open to all lets the health checks in: no health rule for those ports (fewer rules per group)', () => {
    const state = ok(desired({}, { sourceRanges: ['0.0.0.0/0'] }));
    const health = state.nodeRules[0]!.rules.filter((r) => r.description.includes('/health='));
    // Only kube-proxy's port for the UDP target group is left: no client rule covers it.
    assert.deepEqual(
      health.map((r) => `${r.protocol} ${r.fromPort} ${r.cidr}`),
      ['tcp 10256 10.0.0.0/16'],
    );
    const narrowed = ok(desired({}, { sourceRanges: ['203.0.113.0/24'] }));
    assert.ok(
      narrowed.nodeRules[0]!.rules.filter((r) => r.description.includes('/health=')).length > 1,
      'with narrower client ranges the health rules stay',
    );
  });

  it('UDP behind ip targets: a notice, since nothing can vouch for a UDP Pod port', () => {
    const result = desired({}, { targetType: 'ip' });
    assert.deepEqual(
      result.notices.map((n) => n.reason),
      ['UdpHealthCheck'],
    );
  });
});

describe('desiredState: listeners and target-group attributes', () => {
  it('TLS only on the TCP ports listed, with the policy and ALPN (None when not asked for)', () => {
    const state = ok(desired({}, { tls: { ...settings().tls!, ports: [443, 53], alpnPolicy: undefined } }));
    assert.deepEqual(
      state.listeners.map((l) => [l.port, l.protocol, l.certificates.length, l.alpnPolicy]),
      [
        [443, 'TLS', 2, 'None'],
        [80, 'TCP', 0, undefined],
        [53, 'UDP', 0, undefined],
      ],
    );
    assert.deepEqual(
      state.listeners.map((l) => l.attributes),
      [{}, { 'tcp.idle_timeout.seconds': '350' }, {}],
    );
  });

  it('backend protocol ssl: TLS target groups behind the TLS listeners only', () => {
    const state = ok(desired({}, { tls: { ...settings().tls!, backendTls: true } }));
    assert.deepEqual(
      state.targetGroups.map((tg) => tg.protocol),
      ['TLS', 'TCP', 'UDP'],
    );
  });

  it('target-group attributes per protocol (settings.ts): UDP groups get theirs, TLS groups no stickiness type', () => {
    const state = ok(desired({}, { tls: { ...settings().tls!, backendTls: true } }));
    const [tls, tcp, udp] = state.targetGroups;
    assert.equal(tls!.attributes['stickiness.type'], undefined);
    assert.equal(tcp!.attributes['stickiness.type'], 'source_ip');
    assert.equal(udp!.attributes['deregistration_delay.connection_termination.enabled'], 'true');
    assert.equal(tcp!.attributes['deregistration_delay.connection_termination.enabled'], 'false');
  });

  it('SCTP, or one port number for TCP and UDP: Unsupported', () => {
    const sctp = failed(desired({ ports: [{ protocol: 'SCTP', port: 3868, nodePort: 31000 }] }));
    assert.deepEqual([sctp.reason, /SCTP \(port 3868\)/.test(sctp.message)], ['Unsupported', true]);
    const dns = failed(
      desired({
        ports: [
          { name: 'dns-tcp', protocol: 'TCP', port: 53, nodePort: 30053 },
          { name: 'dns-udp', protocol: 'UDP', port: 53, nodePort: 30054 },
        ],
      }),
    );
    assert.equal(dns.reason, 'Unsupported');
    assert.match(dns.message, /port 53 is listed for both TCP and UDP/);
  });
});

describe('desiredState: rules on the nodes’ security group', () => {
  it('the cluster-tagged group of each node (node-b’s untagged second group is left alone)', () => {
    const state = ok(desired());
    assert.deepEqual(
      state.nodeRules.map((n) => n.groupId),
      ['sg-node'],
    );
  });

  it('an instance with only one group, untagged: that one; several untagged: a notice', () => {
    const env = environment();
    env.nodeSecurityGroups[0]!.tags = {};
    env.instances = [
      { nodeName: 'node-a', instanceId: 'i-0aaa', vpcId: 'vpc-1', securityGroupIds: ['sg-node'] },
      {
        nodeName: 'node-b',
        instanceId: 'i-0bbb',
        vpcId: 'vpc-1',
        securityGroupIds: ['sg-node', 'sg-monitoring'],
      },
    ];
    const result = desired({}, {}, env);
    assert.deepEqual(
      ok(result).nodeRules.map((n) => n.groupId),
      ['sg-node'],
    );
    assert.deepEqual(
      result.notices.map((n) => n.reason),
      ['NodesWithoutInstance', 'NodeSecurityGroupNotFound'],
    );
    assert.match(result.notices[1]!.message, /node-b/);
  });

  it('ip targets without client IP preservation: traffic comes from the VPC, one rule per Pod port', () => {
    const state = ok(
      desired(
        {},
        {
          targetType: 'ip',
          targetGroupAttributes: {
            ...settings().targetGroupAttributes,
            'preserve_client_ip.enabled': 'false',
          },
        },
      ),
    );
    const lb = state.loadBalancer.name;
    assert.deepEqual(state.nodeRules[0]!.rules, [
      {
        protocol: 'tcp',
        fromPort: 8443,
        toPort: 8443,
        cidr: '10.0.0.0/16',
        description: nodeRuleDescription('client', lb),
      },
      {
        protocol: 'tcp',
        fromPort: 8080,
        toPort: 8080,
        cidr: '10.0.0.0/16',
        description: nodeRuleDescription('client', lb),
      },
      // UDP keeps the client's address whatever the attribute says.
      {
        protocol: 'udp',
        fromPort: 5353,
        toPort: 5353,
        cidr: '203.0.113.0/24',
        description: nodeRuleDescription('client', lb),
      },
      {
        protocol: 'tcp',
        fromPort: 5353,
        toPort: 5353,
        cidr: '10.0.0.0/16',
        description: nodeRuleDescription('health', lb),
      },
      {
        protocol: 'icmp',
        fromPort: 3,
        toPort: 4,
        cidr: '203.0.113.0/24',
        description: nodeRuleDescription('mtu', lb),
      },
    ]);
  });
});

describe('desiredState: tags', () => {
  it('additional tags on everything, recorded; they cannot override ownership or claim a cluster', () => {
    const state = ok(
      desired(
        {},
        {
          additionalTags: {
            team: 'storefront',
            cost: 'a1',
            'sluice.dev/cluster': 'evil',
            'kubernetes.io/cluster/other': 'owned',
            [ADDITIONAL_TAG_KEYS_TAG]: 'x',
          },
        },
      ),
    );
    assert.deepEqual(state.loadBalancer.tags, {
      team: 'storefront',
      cost: 'a1',
      'sluice.dev/cluster': CLUSTER,
      'sluice.dev/service': 'shop/storefront',
      'sluice.dev/service-uid': intent().service.uid,
      'sluice.dev/resource': 'load-balancer',
      'kubernetes.io/cluster/prod': 'owned',
      [ADDITIONAL_TAG_KEYS_TAG]: 'cost,team',
    });
    assert.equal(state.targetGroups[0]!.tags['sluice.dev/resource'], 'target-group:443/TCP');
    assert.equal(state.listeners[0]!.tags['sluice.dev/resource'], 'listener');
    assert.equal(
      ok(desired({}, { additionalTags: {} })).loadBalancer.tags[ADDITIONAL_TAG_KEYS_TAG],
      undefined,
    );
  });

  it('the certificates named are the listener’s, default first', () => {
    assert.equal(ok(desired()).listeners[0]!.certificates[0], CERT_A);
  });
});
