import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_CLASS } from '../../src/config/config.ts';
import { loadSpeakerConfig, type SpeakerConfig, speakerFlagHelp } from '../../src/config/speaker-config.ts';

const noNamespaceFile = (): string | undefined => undefined;

/** The problems loadSpeakerConfig reports, or [] when it accepts the input. */
function problemsOf(argv: string[], env: NodeJS.ProcessEnv = {}, file = noNamespaceFile): string[] {
  try {
    loadSpeakerConfig(argv, env, file);
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
}

describe('loadSpeakerConfig', () => {
  it('gives the documented defaults with only the required flags', () => {
    const expected: SpeakerConfig = {
      nodeName: 'worker-1',
      namespace: 'sluice-system',
      loadBalancerClass: DEFAULT_CLASS,
      manageUnclassed: false,
      healthAddress: { port: 7473 },
      logLevel: 'info',
      heartbeat: { durationMs: 6000, intervalMs: 2000 },
    };
    assert.deepEqual(
      loadSpeakerConfig(['--node-name', 'worker-1', '--namespace', 'sluice-system'], {}, noNamespaceFile),
      expected,
    );
  });

  it('reads the namespace from the service account file when no flag or variable names it', () => {
    const config = loadSpeakerConfig(['--node-name', 'n1'], {}, () => 'from-pod\n');
    assert.equal(config.namespace, 'from-pod');
    // An explicit flag wins over the file.
    assert.equal(
      loadSpeakerConfig(['--node-name', 'n1', '--namespace', 'x'], {}, () => 'from-pod').namespace,
      'x',
    );
  });

  it('takes every flag from SLUICE_* variables, and flags win over them', () => {
    const env = {
      SLUICE_NODE_NAME: 'env-node',
      SLUICE_NAMESPACE: 'env-ns',
      SLUICE_LOAD_BALANCER_CLASS: 'example.com/l2',
      SLUICE_MANAGE_UNCLASSED: 'true',
      SLUICE_HEALTH_ADDRESS: '127.0.0.1:0',
      SLUICE_LOG_LEVEL: 'debug',
      SLUICE_HEARTBEAT_DURATION: '10',
      SLUICE_HEARTBEAT_INTERVAL: '2.5',
      SLUICE_KUBECONFIG: '/tmp/kc',
    };
    assert.deepEqual(loadSpeakerConfig([], env, noNamespaceFile), {
      nodeName: 'env-node',
      namespace: 'env-ns',
      kubeconfig: '/tmp/kc',
      loadBalancerClass: 'example.com/l2',
      manageUnclassed: true,
      healthAddress: { host: '127.0.0.1', port: 0 },
      logLevel: 'debug',
      heartbeat: { durationMs: 10_000, intervalMs: 2500 },
    });
    assert.equal(loadSpeakerConfig(['--node-name', 'flag-node'], env, noNamespaceFile).nodeName, 'flag-node');
  });

  it('reports every problem at once', () => {
    const problems = problemsOf([
      '--node-name',
      'Not_A_Node',
      '--load-balancer-class',
      'noprefix',
      '--manage-unclassed',
      'yes',
      '--log-level',
      'loud',
      '--health-address',
      'nowhere',
      '--heartbeat-duration',
      '2.5',
      '--heartbeat-interval',
      '0.1',
    ]);
    assert.equal(problems.length, 8, problems.join('\n'));
    for (const flag of [
      '--node-name',
      '--namespace',
      '--load-balancer-class',
      '--manage-unclassed',
      '--log-level',
      '--health-address',
      '--heartbeat-duration',
      '--heartbeat-interval',
    ]) {
      assert.ok(
        problems.some((p) => p.startsWith(flag)),
        `no problem names ${flag}:\n${problems.join('\n')}`,
      );
    }
  });

  it('requires a node name and, outside a pod, a namespace', () => {
    const problems = problemsOf([]);
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /--node-name \(or SLUICE_NODE_NAME\) is required/);
    assert.match(problems[1] ?? '', /--namespace \(or SLUICE_NAMESPACE\) is required outside a pod/);
  });

  it('rejects a node name too long to make a Lease name from', () => {
    const long = 'n'.repeat(239);
    assert.match(problemsOf(['--node-name', long, '--namespace', 'x'])[0] ?? '', /at most 238 characters/);
    assert.deepEqual(problemsOf(['--node-name', 'n'.repeat(238), '--namespace', 'x']), []);
  });

  it('leaves room for an address to outlive a late renewal', () => {
    const base = ['--node-name', 'n', '--namespace', 'x'];
    const timing = (d: string, r: string): string[] =>
      problemsOf([...base, '--heartbeat-duration', d, '--heartbeat-interval', r]);
    for (const [d, r] of [
      ['3', '1'],
      ['5', '2.5'],
      ['4', '2'],
      ['3', '0.5'],
      ['6', '2.5'],
    ] as const) {
      assert.match(
        timing(d, r)[0] ?? '',
        /too short a life: it must outlive the next renewal by a second/,
        `${d}/${r}`,
      );
    }
    for (const [d, r] of [
      ['6', '2'],
      ['4', '1'],
      ['5', '2'],
      ['4', '0.5'],
      ['30', '10'],
    ] as const) {
      assert.deepEqual(timing(d, r), [], `${d}/${r}`);
    }
    assert.deepEqual(
      loadSpeakerConfig([...base, '--heartbeat-duration', '4', '--heartbeat-interval', '0.5'], {}).heartbeat,
      { durationMs: 4000, intervalMs: 500 },
    );
    assert.match(
      problemsOf([...base, '--heartbeat-duration', '', '--heartbeat-interval', '1'])[0] ?? '',
      /whole number/,
    );
  });

  it('accepts bracketed IPv6 and host-less health addresses', () => {
    const base = ['--node-name', 'n', '--namespace', 'x'];
    assert.deepEqual(loadSpeakerConfig([...base, '--health-address', '[::1]:9000'], {}).healthAddress, {
      host: '::1',
      port: 9000,
    });
    assert.deepEqual(loadSpeakerConfig([...base, '--health-address', ':7000'], {}).healthAddress, {
      port: 7000,
    });
  });

  it('refuses unknown flags', () => {
    assert.throws(() => loadSpeakerConfig(['--node-name', 'n', '--bogus'], {}, noNamespaceFile), /bogus/);
  });

  it('documents every flag with its default', () => {
    const help = speakerFlagHelp();
    for (const text of [
      '--node-name',
      '--namespace',
      '--kubeconfig',
      `--load-balancer-class (default ${DEFAULT_CLASS})`,
      '--manage-unclassed (default false)',
      '--health-address (default :7473)',
      '--log-level (default info)',
      '--heartbeat-duration (default 6)',
      '--heartbeat-interval (default 2)',
    ]) {
      assert.ok(help.includes(text), `help lacks ${text}`);
    }
  });
});
