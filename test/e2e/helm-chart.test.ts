// The Helm chart, proven on the real control plane with the real helm and kubectl:
// it lints and renders, every rendered object is accepted by the apiserver, the values schema
// catches typos, install/upgrade/uninstall behave, and Sluice run with nothing but the chart's
// ServiceAccount token passes the bare-metal lifecycle scenarios, and can do nothing more.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { testCluster } from '../harness/test-cluster.ts';
import { lifecycleScenarios } from './lifecycle-scenarios.ts';
import { kubectl, SluiceProcess } from './support.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHART = join(ROOT, 'charts/sluice');
const RELEASE = 'sluice';
const NS = 'sluice-chart';
const CLASS = 'sluice.dev/e2e-chart';
const SA = `system:serviceaccount:${NS}:${RELEASE}`;
const cluster = testCluster();

async function helm(args: string[]): Promise<string> {
  const { stdout } = await run(`${cluster.binDir}/helm`, [...args, '--kubeconfig', cluster.kubeconfigPath], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** helm's error text, or undefined when it succeeded. */
async function helmError(args: string[]): Promise<string | undefined> {
  try {
    await helm(args);
    return undefined;
  } catch (error) {
    return (error as { stderr?: string }).stderr ?? String(error);
  }
}

/** The controller container's arguments, as the installed release has them. */
async function deploymentArgs(): Promise<string[]> {
  const jsonpath = 'jsonpath={.spec.template.spec.containers[0].args}';
  return JSON.parse(await kubectl(cluster, ['get', 'deploy', RELEASE, '-n', NS, '-o', jsonpath])) as string[];
}

let installed: Promise<void> | undefined;
let sluiceKubeconfig = '';
let sluiceArgs: string[] = [];

/** Installs the release once, then prepares a kubeconfig that holds only its ServiceAccount's token. */
function installOnce(): Promise<void> {
  installed ??= (async () => {
    // The chart must own the CRD it ships; earlier test files may have applied it with kubectl.
    await kubectl(cluster, ['delete', 'crd', 'addresspools.sluice.dev', '--ignore-not-found', '--wait=true']);
    await helm([
      'install',
      RELEASE,
      CHART,
      '--namespace',
      NS,
      '--create-namespace',
      '--set',
      `loadBalancerClass=${CLASS}`,
    ]);
    await kubectl(cluster, [
      'wait',
      '--for=condition=Established',
      'crd/addresspools.sluice.dev',
      '--timeout=30s',
    ]);
    const token = (await kubectl(cluster, ['create', 'token', RELEASE, '-n', NS, '--duration=1h'])).trim();
    const admin = parse(readFileSync(cluster.kubeconfigPath, 'utf8')) as {
      clusters: Array<{ name: string; cluster: Record<string, unknown> }>;
    };
    const dir = await mkdtemp(join(tmpdir(), 'sluice-chart-'));
    sluiceKubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      sluiceKubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: admin.clusters[0]!.cluster }],
        users: [{ name: 'sluice', user: { token } }],
        contexts: [{ name: 'sluice', context: { cluster: 'test', user: 'sluice' } }],
        'current-context': 'sluice',
      }),
      { mode: 0o600 },
    );
    // Sluice runs with exactly the arguments the chart gives the Deployment, bar the listen
    // address (no pod network here) and faster retries for the test.
    const args = await deploymentArgs();
    assert.equal(args[0], 'controller');
    sluiceArgs = [
      ...args.slice(1).filter((a) => !a.startsWith('--health-address')),
      '--backoff-base=0.2',
      '--backoff-max=2',
    ];
  })();
  return installed;
}

describe('chart', () => {
  test('helm lint --strict passes', async () => {
    const out = await helm(['lint', '--strict', CHART]);
    assert.match(out, /0 chart\(s\) failed/);
  });

  const valueFiles = ['', ...readdirSync(join(CHART, 'ci')).map((f) => join(CHART, 'ci', f))];
  for (const values of valueFiles) {
    test(`renders with ${values ? values.slice(ROOT.length) : 'default values'} and the apiserver accepts every object`, async () => {
      await kubectl(cluster, ['create', 'namespace', 'chart-render']).catch(() => '');
      const rendered = await helm([
        'template',
        'render',
        CHART,
        '-n',
        'chart-render',
        ...(values ? ['-f', values] : []),
      ]);
      const out = await kubectl(cluster, ['apply', '--dry-run=server', '-f', '-'], rendered);
      const kinds = rendered.split('\n').filter((l) => l.startsWith('kind:')).length;
      assert.equal(out.trim().split('\n').length, kinds, out);
      // The restricted pod security profile, whatever the values.
      const deployment = rendered.split('\n---\n').find((doc) => /^kind: Deployment$/m.test(doc))!;
      assert.match(deployment, /runAsNonRoot: true/);
      assert.match(deployment, /readOnlyRootFilesystem: true/);
      assert.match(deployment, /drop: \[ALL\]/);
      assert.match(deployment, /type: RuntimeDefault/);
    });
  }

  test('the ServiceMonitor is rendered only where the monitoring.coreos.com/v1 API exists', async () => {
    const args = ['template', 'm', CHART, '--set', 'metrics.serviceMonitor.enabled=true'];
    assert.doesNotMatch(await helm(args), /^kind: ServiceMonitor$/m);
    const withApi = await helm([...args, '--api-versions', 'monitoring.coreos.com/v1']);
    const monitor = withApi.split('\n---\n').find((doc) => /^kind: ServiceMonitor$/m.test(doc));
    assert.ok(monitor, 'no ServiceMonitor rendered');
    assert.match(monitor, /port: metrics/);
    assert.match(monitor, /app\.kubernetes\.io\/name: sluice/);
  });

  test('the chart ships the CRDs byte for byte as crds/ has them', () => {
    const source = readdirSync(join(ROOT, 'crds')).sort();
    const shipped = readdirSync(join(CHART, 'charts/crds/templates')).sort();
    assert.deepEqual(shipped, source);
    for (const file of source) {
      assert.equal(
        readFileSync(join(CHART, 'charts/crds/templates', file), 'utf8'),
        readFileSync(join(ROOT, 'crds', file), 'utf8'),
        `${file} drifted: copy crds/${file} to charts/sluice/charts/crds/templates/`,
      );
    }
  });

  test('the values schema rejects a misspelt key and a wrong type, naming them', async () => {
    const typo = await helmError(['template', 'x', CHART, '--set', 'workerz=8']);
    assert.match(typo ?? 'accepted', /additional properties 'workerz' not allowed/);
    const type = await helmError(['template', 'x', CHART, '--set-string', 'workers=many']);
    assert.match(type ?? 'accepted', /workers.*(got string, want integer|expected integer)/s);
    const nested = await helmError(['template', 'x', CHART, '--set', 'leaderElection.enable=true']);
    assert.match(nested ?? 'accepted', /additional properties 'enable' not allowed/);
    const provider = await helmError(['template', 'x', CHART, '--set', 'provider=aws']);
    assert.match(provider ?? 'accepted', /provider/);
    // Two replicas without leader election would each hand out addresses on their own.
    const unsafe = await helmError(['template', 'x', CHART, '--set', 'leaderElection.enabled=false']);
    assert.match(unsafe ?? 'accepted', /replicaCount > 1 needs leaderElection.enabled=true/);
  });
});

describe('install', () => {
  test('helm install creates every object of the release', async () => {
    await installOnce();
    for (const [kind, name, namespaced] of [
      ['deployment', RELEASE, true],
      ['serviceaccount', RELEASE, true],
      ['role', `${RELEASE}-leader-election`, true],
      ['rolebinding', `${RELEASE}-leader-election`, true],
      ['poddisruptionbudget', RELEASE, true],
      ['service', `${RELEASE}-metrics`, true],
      ['clusterrole', RELEASE, false],
      ['clusterrolebinding', RELEASE, false],
      ['crd', 'addresspools.sluice.dev', false],
    ] as const) {
      await kubectl(cluster, ['get', kind, name, ...(namespaced ? ['-n', NS] : [])]);
    }
  });

  test('the ServiceAccount can do what Sluice needs and nothing more', async () => {
    await installOnce();
    const can = async (...args: string[]): Promise<boolean> => {
      try {
        return (await kubectl(cluster, ['auth', 'can-i', ...args, `--as=${SA}`])).trim() === 'yes';
      } catch (error) {
        // kubectl exits 1 for "no" and prints "no"; anything else is a failure of the check itself.
        const stdout = (error as { stdout?: string }).stdout?.trim();
        if (stdout === 'no') return false;
        throw error;
      }
    };
    const lease = `leases/${RELEASE}-leader`;
    const allowed: string[][] = [
      ['watch', 'services', '-A'],
      ['patch', 'services', '-n', 'default'],
      ['patch', 'services/status', '-n', 'default'],
      ['create', 'events.events.k8s.io', '-n', 'default'],
      ['list', 'addresspools.sluice.dev'],
      ['update', lease, '-n', NS],
      ['create', 'leases', '-n', NS],
    ];
    const denied: string[][] = [
      ['get', 'secrets', '-n', NS],
      ['get', 'services', '-n', 'default'],
      ['list', 'secrets', '-A'],
      ['create', 'deployments', '-n', NS],
      ['patch', 'nodes'],
      ['delete', 'services', '-n', 'default'],
      ['update', 'services', '-n', 'default'],
      ['create', 'services', '-n', 'default'],
      ['update', 'leases/someone-else', '-n', NS],
      ['update', lease, '-n', 'default'],
      ['delete', 'addresspools.sluice.dev'],
      ['create', 'pods', '-n', NS],
      ['escalate', 'clusterroles'],
    ];
    for (const a of allowed) assert.equal(await can(...a), true, `should be allowed: ${a.join(' ')}`);
    for (const d of denied) assert.equal(await can(...d), false, `should be denied: ${d.join(' ')}`);
  });
});

// The issue-2 scenarios again, with Sluice holding only the chart's ServiceAccount token and
// the chart's own arguments (leader election on, in the release namespace).
lifecycleScenarios({
  name: 'e2e-chart',
  loadBalancerClass: CLASS,
  setup: installOnce,
  startSluice: () => new SluiceProcess(sluiceKubeconfig, sluiceArgs),
});

describe('upgrade and uninstall', () => {
  test('helm upgrade applies changed values', async () => {
    await installOnce();
    await helm([
      'upgrade',
      RELEASE,
      CHART,
      '-n',
      NS,
      '--reuse-values',
      '--set',
      'workers=8',
      '--set',
      'replicaCount=1',
    ]);
    assert.ok((await deploymentArgs()).includes('--workers=8'));
    const replicas = await kubectl(cluster, [
      'get',
      'deploy',
      RELEASE,
      '-n',
      NS,
      '-o',
      'jsonpath={.spec.replicas}',
    ]);
    assert.equal(replicas, '1');
    // A PodDisruptionBudget only makes sense with more than one replica.
    await assert.rejects(kubectl(cluster, ['get', 'pdb', RELEASE, '-n', NS]), /NotFound/);
  });

  test('helm uninstall leaves nothing cluster-scoped behind but the CRDs', async () => {
    await installOnce();
    await helm(['uninstall', RELEASE, '-n', NS, '--wait']);
    await assert.rejects(kubectl(cluster, ['get', 'clusterrole', RELEASE]), /NotFound/);
    await assert.rejects(kubectl(cluster, ['get', 'clusterrolebinding', RELEASE]), /NotFound/);
    const leftovers = await kubectl(cluster, [
      'get',
      'clusterroles,clusterrolebindings,crds',
      '-l',
      `app.kubernetes.io/instance=${RELEASE}`,
      '-o',
      'name',
    ]);
    assert.equal(leftovers.trim(), '');
    // Kept on purpose (helm.sh/resource-policy: keep): deleting a CRD deletes every pool.
    await kubectl(cluster, ['get', 'crd', 'addresspools.sluice.dev']);
  });
});
