import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { type Config, ConfigError, DEFAULT_CLASS, flagHelp, loadConfig } from '../../src/config/config.ts';

/** The problems loadConfig reports, or [] when it accepts the input. */
function problemsOf(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig(argv, env);
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
}

describe('loadConfig: defaults', () => {
  it('gives the documented defaults with no flags and no environment', () => {
    const expected: Config = {
      provider: 'pool',
      loadBalancerClass: DEFAULT_CLASS,
      manageUnclassed: false,
      clusterName: 'sluice',
      workers: 4,
      resyncPeriodMs: 300_000,
      backoffBaseMs: 5000,
      backoffMaxMs: 300_000,
      healthAddress: { port: 8080 },
      logLevel: 'info',
      leaderElection: {
        enabled: true,
        namespace: 'default',
        leaseName: 'sluice-controller',
        identity: `${hostname()}_${process.pid}`,
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2000,
      },
    };
    assert.deepEqual(loadConfig([], {}), expected);
  });

  it('takes the leader-election namespace and identity from the pod when not given', () => {
    const { leaderElection } = loadConfig([], { POD_NAMESPACE: 'sluice-system', POD_NAME: 'sluice-abc' });
    assert.equal(leaderElection.namespace, 'sluice-system');
    assert.equal(leaderElection.identity, 'sluice-abc');
  });

  it('lists every flag with its default in --help', () => {
    const help = flagHelp();
    assert.match(help, /--workers \(default 4\)/);
    assert.match(help, /--load-balancer-class \(default sluice\.dev\/lb\)/);
    assert.match(help, /--kubeconfig$/m);
  });
});

describe('loadConfig: precedence', () => {
  const cases: Array<[string, string[], NodeJS.ProcessEnv, number]> = [
    ['default', [], {}, 4],
    ['env beats default', [], { SLUICE_WORKERS: '8' }, 8],
    ['flag beats env (--flag=value)', ['--workers=2'], { SLUICE_WORKERS: '8' }, 2],
    ['flag beats env (--flag value)', ['--workers', '3'], { SLUICE_WORKERS: '8' }, 3],
    ['flag alone', ['--workers=16'], {}, 16],
  ];
  for (const [name, argv, env, workers] of cases) {
    it(`workers: ${name}`, () => {
      assert.equal(loadConfig(argv, env).workers, workers);
    });
  }

  it('maps dashed flags to SLUICE_ variables with underscores', () => {
    const config = loadConfig([], {
      SLUICE_LOAD_BALANCER_CLASS: 'example.com/lb',
      SLUICE_MANAGE_UNCLASSED: 'true',
      SLUICE_LEADER_ELECT: 'false',
      SLUICE_LEADER_ELECTION_NAMESPACE: 'ops',
      SLUICE_HEALTH_ADDRESS: '127.0.0.1:9000',
      SLUICE_LOG_LEVEL: 'debug',
      SLUICE_KUBECONFIG: '/tmp/kubeconfig',
      SLUICE_BACKOFF_BASE: '0.5',
    });
    assert.equal(config.loadBalancerClass, 'example.com/lb');
    assert.equal(config.manageUnclassed, true);
    assert.equal(config.leaderElection.enabled, false);
    assert.equal(config.leaderElection.namespace, 'ops');
    assert.deepEqual(config.healthAddress, { host: '127.0.0.1', port: 9000 });
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.kubeconfig, '/tmp/kubeconfig');
    assert.equal(config.backoffBaseMs, 500);
  });

  it('an explicit flag beats the pod environment too', () => {
    const config = loadConfig(['--leader-election-namespace=ops', '--leader-election-identity=me'], {
      POD_NAMESPACE: 'sluice-system',
      POD_NAME: 'sluice-abc',
    });
    assert.equal(config.leaderElection.namespace, 'ops');
    assert.equal(config.leaderElection.identity, 'me');
  });

  it('converts seconds to milliseconds', () => {
    const config = loadConfig(
      [
        '--resync-period=60',
        '--backoff-base=0.25',
        '--backoff-max=30',
        '--lease-duration=30',
        '--renew-deadline=20',
      ],
      { SLUICE_RETRY_PERIOD: '0.5' },
    );
    assert.equal(config.resyncPeriodMs, 60_000);
    assert.equal(config.backoffBaseMs, 250);
    assert.equal(config.backoffMaxMs, 30_000);
    assert.equal(config.leaderElection.leaseDurationMs, 30_000);
    assert.equal(config.leaderElection.renewDeadlineMs, 20_000);
    assert.equal(config.leaderElection.retryPeriodMs, 500);
  });
});

describe('loadConfig: health address', () => {
  const valid: Array<[string, { host?: string; port: number }]> = [
    ['127.0.0.1:9000', { host: '127.0.0.1', port: 9000 }],
    [':8081', { port: 8081 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
  ];
  for (const [text, want] of valid) {
    it(`accepts ${text}`, () => {
      assert.deepEqual(loadConfig([`--health-address=${text}`], {}).healthAddress, want);
    });
  }
});

describe('loadConfig: validation', () => {
  const cases: Array<[string, string[], NodeJS.ProcessEnv, string]> = [
    ['bad provider', ['--provider=ibm'], {}, '--provider: "ibm" is not one of: pool, aws, gcp, azure'],
    ['workers 0', ['--workers=0'], {}, '--workers: "0" must be an integer from 1 to 256'],
    ['workers 257', ['--workers=257'], {}, '--workers: "257" must be an integer from 1 to 256'],
    ['workers fractional', ['--workers=1.5'], {}, '--workers: "1.5" must be an integer from 1 to 256'],
    [
      'workers from env',
      [],
      { SLUICE_WORKERS: 'many' },
      '--workers: "many" must be an integer from 1 to 256',
    ],
    [
      'bad log level',
      ['--log-level=verbose'],
      {},
      '--log-level: "verbose" is not one of trace, debug, info, warn, error',
    ],
    [
      'health address without port',
      ['--health-address=localhost'],
      {},
      '--health-address: "localhost" must be [HOST]:PORT (port 0 picks a free one)',
    ],
    [
      'health address port too big',
      ['--health-address=0.0.0.0:65536'],
      {},
      '--health-address: "0.0.0.0:65536" must be [HOST]:PORT (port 0 picks a free one)',
    ],
    [
      'class without prefix',
      ['--load-balancer-class=lb'],
      {},
      `--load-balancer-class: "lb" must be a label-style name with a prefix, like ${DEFAULT_CLASS}`,
    ],
    [
      'class with an upper-case prefix',
      ['--load-balancer-class=Sluice.dev/lb'],
      {},
      `--load-balancer-class: "Sluice.dev/lb" must be a label-style name with a prefix, like ${DEFAULT_CLASS}`,
    ],
    [
      'empty class',
      ['--load-balancer-class='],
      {},
      `--load-balancer-class: "" must be a label-style name with a prefix, like ${DEFAULT_CLASS}`,
    ],
    ['bad boolean', ['--manage-unclassed=yes'], {}, '--manage-unclassed: "yes" is not true or false'],
    ['bad boolean from env', [], { SLUICE_LEADER_ELECT: '1' }, '--leader-elect: "1" is not true or false'],
    ['resync too short', ['--resync-period=5'], {}, '--resync-period: "5" must be a number of seconds ≥ 10'],
    [
      'seconds not a number',
      ['--backoff-max=soon'],
      {},
      '--backoff-max: "soon" must be a number of seconds ≥ 0.001',
    ],
    [
      'renew deadline equal to lease duration',
      ['--lease-duration=10', '--renew-deadline=10'],
      {},
      '--renew-deadline must be shorter than --lease-duration',
    ],
    [
      'renew deadline longer than lease duration',
      ['--renew-deadline=20'],
      {},
      '--renew-deadline must be shorter than --lease-duration',
    ],
    [
      'retry period equal to renew deadline',
      ['--retry-period=10'],
      {},
      '--retry-period must be shorter than --renew-deadline',
    ],
    [
      'backoff base above backoff max',
      ['--backoff-base=60', '--backoff-max=30'],
      {},
      '--backoff-base must not exceed --backoff-max',
    ],
  ];
  for (const [name, argv, env, problem] of cases) {
    it(`rejects ${name}`, () => {
      assert.deepEqual(problemsOf(argv, env), [problem]);
    });
  }

  it('reports every problem at once', () => {
    const argv = [
      '--provider=ibm',
      '--workers=0',
      '--log-level=loud',
      '--health-address=nowhere',
      '--load-balancer-class=nope',
      '--lease-duration=5',
      '--renew-deadline=5',
      '--retry-period=6',
    ];
    assert.deepEqual(problemsOf(argv), [
      '--provider: "ibm" is not one of: pool, aws, gcp, azure',
      '--workers: "0" must be an integer from 1 to 256',
      '--log-level: "loud" is not one of trace, debug, info, warn, error',
      '--health-address: "nowhere" must be [HOST]:PORT (port 0 picks a free one)',
      `--load-balancer-class: "nope" must be a label-style name with a prefix, like ${DEFAULT_CLASS}`,
      '--renew-deadline must be shorter than --lease-duration',
      '--retry-period must be shorter than --renew-deadline',
    ]);
  });

  it('ConfigError lists the problems in its message', () => {
    assert.throws(
      () => loadConfig(['--provider=ibm', '--workers=0'], {}),
      (error: unknown) =>
        error instanceof ConfigError &&
        error instanceof Error &&
        error.message ===
          'invalid configuration:\n  --provider: "ibm" is not one of: pool, aws, gcp, azure\n  --workers: "0" must be an integer from 1 to 256',
    );
  });

  it('an unknown flag is a parse error with a code (main reports it like a ConfigError)', () => {
    assert.throws(() => loadConfig(['--wrokers=2'], {}), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
  });

  it('accepts the boundaries', () => {
    assert.deepEqual(problemsOf(['--workers=1']), []);
    assert.deepEqual(problemsOf(['--workers=256']), []);
    assert.deepEqual(problemsOf(['--resync-period=10']), []);
    assert.deepEqual(problemsOf(['--health-address=0.0.0.0:65535']), []);
    assert.deepEqual(problemsOf(['--lease-duration=3', '--renew-deadline=2', '--retry-period=1']), []);
    assert.deepEqual(problemsOf(['--backoff-base=30', '--backoff-max=30']), []);
  });
});

describe('loadConfig: the aws provider', () => {
  it('reads region, endpoint and VPC from flags', () => {
    const config = loadConfig(
      [
        '--provider=aws',
        '--aws-region=eu-west-1',
        '--aws-endpoint=http://127.0.0.1:5000',
        '--aws-vpc-id=vpc-0123abcd',
      ],
      {},
    );
    assert.equal(config.provider, 'aws');
    assert.deepEqual(config.aws, {
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:5000',
      vpcId: 'vpc-0123abcd',
    });
  });

  it('takes the region from the SDK variables when no flag gives it', () => {
    assert.equal(loadConfig(['--provider=aws'], { AWS_REGION: 'us-west-2' }).aws?.region, 'us-west-2');
    assert.equal(
      loadConfig(['--provider=aws'], { AWS_DEFAULT_REGION: 'ap-south-1' }).aws?.region,
      'ap-south-1',
    );
    assert.equal(
      loadConfig(['--provider=aws'], { SLUICE_AWS_REGION: 'us-east-2', AWS_REGION: 'us-west-2' }).aws?.region,
      'us-east-2',
    );
  });

  it('reports a missing region, a bad endpoint and a bad VPC ID together', () => {
    assert.throws(
      () => loadConfig(['--provider=aws', '--aws-endpoint=moto', '--aws-vpc-id=vpc1'], {}),
      (error: Error) =>
        error.message.includes('--aws-region: "" must be an AWS region') &&
        error.message.includes('--aws-endpoint: "moto" must be a URL') &&
        error.message.includes('--aws-vpc-id: "vpc1" is not a VPC ID'),
    );
  });

  it('has no aws section for other providers', () => {
    assert.equal(loadConfig([], { AWS_REGION: 'us-west-2' }).aws, undefined);
  });
});

describe('loadConfig: the gcp provider', () => {
  it('reads project, region, network, subnetwork and endpoint', () => {
    const config = loadConfig(
      [
        '--provider=gcp',
        '--gcp-project=my-project-1',
        '--gcp-region=europe-west1',
        '--gcp-subnetwork=nodes',
        '--gcp-endpoint=http://127.0.0.1:8085',
        '--gcp-node-tags=gke-nodes, pool-b',
      ],
      {},
    );
    assert.deepEqual(config.gcp, {
      project: 'my-project-1',
      region: 'europe-west1',
      network: 'default',
      subnetwork: 'nodes',
      endpoint: 'http://127.0.0.1:8085',
      nodeTags: ['gke-nodes', 'pool-b'],
    });
  });

  it('refuses a node tag that is not a network tag', () => {
    assert.throws(
      () =>
        loadConfig(
          [
            '--provider=gcp',
            '--gcp-project=my-project-1',
            '--gcp-region=us-central1',
            '--gcp-node-tags=Bad_Tag',
          ],
          {},
        ),
      (error: Error) => error.message.includes('--gcp-node-tags: "Bad_Tag" is not a network tag'),
    );
  });

  it('takes the project from GOOGLE_CLOUD_PROJECT and reports a missing region', () => {
    assert.throws(
      () => loadConfig(['--provider=gcp'], { GOOGLE_CLOUD_PROJECT: 'my-project-1' }),
      (error: Error) =>
        error.message.includes('--gcp-region: "" must be a region') &&
        !error.message.includes('--gcp-project'),
    );
  });
});

describe('loadConfig: the azure provider', () => {
  const base = [
    '--provider=azure',
    '--azure-resource-group=rg',
    '--azure-location=eastus',
    '--azure-vnet=vnet',
    '--azure-subnet=nodes',
  ];
  it('reads every setting, the subscription also from AZURE_SUBSCRIPTION_ID', () => {
    const config = loadConfig([...base, '--azure-probe-mode=kube-proxy', '--azure-ca-file=/ca.pem'], {
      AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000001',
    });
    assert.deepEqual(config.azure, {
      subscriptionId: '00000000-0000-0000-0000-000000000001',
      resourceGroup: 'rg',
      location: 'eastus',
      vnetName: 'vnet',
      subnetName: 'nodes',
      caFile: '/ca.pem',
      probeMode: 'kube-proxy',
    });
  });

  it('names every missing or bad setting', () => {
    assert.throws(
      () => loadConfig(['--provider=azure', '--azure-subscription-id=abc', '--azure-probe-mode=http'], {}),
      (error: Error) =>
        [
          '--azure-subscription-id: "abc"',
          '--azure-resource-group:',
          '--azure-location:',
          '--azure-vnet:',
          '--azure-subnet:',
          '--azure-probe-mode: "http"',
        ].every((text) => error.message.includes(text)),
    );
  });
});
