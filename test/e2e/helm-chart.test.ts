// The Helm chart, proven on the real control plane with the real helm and kubectl:
// it lints and renders, every rendered object is accepted by the apiserver, the values schema
// catches typos, install/upgrade/uninstall behave, and Sluice run with nothing but the chart's
// ServiceAccount token passes the bare-metal lifecycle scenarios, and can do nothing more.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { testCluster } from '../harness/test-cluster.ts';
import { lifecycleScenarios } from './lifecycle-scenarios.ts';
import { kubectl, SluiceProcess, waitFor } from './support.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHART = join(ROOT, 'charts/sluice');
const MAIN = join(ROOT, 'src/main.ts');
const RELEASE = 'sluice';
const NS = 'sluice-chart';
const CLASS = 'sluice.dev/e2e-chart';
const SA = `system:serviceaccount:${NS}:${RELEASE}`;
const SPEAKER = `${RELEASE}-speaker`;
const SPEAKER_SA = `system:serviceaccount:${NS}:${SPEAKER}`;
// What the speaker needs (see test/e2e/image.test.ts, which proves each in the image): NET_ADMIN to
// add addresses, NET_RAW for ARP/NA, SETUID and SETGID for na6 dropping to nobody.
const SPEAKER_CAPABILITIES = ['NET_ADMIN', 'NET_RAW', 'SETUID', 'SETGID'];
const cluster = testCluster();

interface Container {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  securityContext?: {
    runAsUser?: number;
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
}

interface PodSpec {
  serviceAccountName?: string;
  hostNetwork?: boolean;
  dnsPolicy?: string;
  priorityClassName?: string;
  terminationGracePeriodSeconds?: number;
  tolerations?: Array<Record<string, unknown>>;
  nodeSelector?: Record<string, string>;
  affinity?: Record<string, unknown>;
  securityContext?: { seccompProfile?: { type: string } };
  containers: Container[];
}

interface Rendered {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { template?: { spec: PodSpec } };
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
}

/** `helm template` of the chart, as objects. */
async function render(args: string[]): Promise<Rendered[]> {
  const text = await helm(['template', RELEASE, CHART, '-n', NS, ...args]);
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Rendered | null)
    .filter((o): o is Rendered => o !== null);
}

function podSpecOf(objects: Rendered[], kind: string): PodSpec | undefined {
  return objects.find((o) => o.kind === kind)?.spec?.template?.spec;
}

/** The value of `--name=` in a container's arguments. */
function flag(container: Container, name: string): string | undefined {
  const arg = container.args?.find((a) => a.startsWith(`--${name}=`));
  return arg?.slice(name.length + 3);
}

/** Checks the speaker DaemonSet's contract with `sluice speaker` and the node; returns its container. */
function assertSpeakerPod(objects: Rendered[]): Container {
  const pod = podSpecOf(objects, 'DaemonSet');
  assert.ok(pod, 'no speaker DaemonSet');
  const controller = podSpecOf(objects, 'Deployment')!.containers[0]!;
  const speaker = pod.containers[0]!;
  assert.equal(speaker.args?.[0], 'speaker');
  // The node and namespace come from the downward API.
  const fieldOf = (env: string): string | undefined =>
    speaker.env?.find((e) => e.name === env)?.valueFrom?.fieldRef?.fieldPath;
  assert.equal(flag(speaker, 'node-name'), '$(NODE_NAME)');
  assert.equal(fieldOf('NODE_NAME'), 'spec.nodeName');
  assert.equal(flag(speaker, 'namespace'), '$(POD_NAMESPACE)');
  assert.equal(fieldOf('POD_NAMESPACE'), 'metadata.namespace');
  // It announces exactly the Services the controller serves.
  for (const name of ['load-balancer-class', 'manage-unclassed']) {
    assert.equal(flag(speaker, name), flag(controller, name), name);
  }
  // Health on the declared port, probed by name.
  const port = speaker.ports?.find((p) => p.name === 'health');
  assert.ok(port);
  assert.equal(flag(speaker, 'health-address'), `:${port.containerPort}`);
  assert.deepEqual(speaker.livenessProbe?.httpGet, { path: '/healthz', port: 'health' });
  assert.deepEqual(speaker.readinessProbe?.httpGet, { path: '/readyz', port: 'health' });
  assert.ok(flag(speaker, 'heartbeat-duration'));
  assert.ok(flag(speaker, 'heartbeat-interval'));
  // On the node's network, as root with nothing but the capabilities it needs.
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
  assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
  const security = speaker.securityContext;
  assert.equal(security?.runAsUser, 0);
  assert.equal(security?.allowPrivilegeEscalation, false);
  assert.equal(security?.readOnlyRootFilesystem, true);
  assert.deepEqual(security?.capabilities, { drop: ['ALL'], add: SPEAKER_CAPABILITIES });
  assert.ok((pod.terminationGracePeriodSeconds ?? 0) >= 5, 'time to withdraw on shutdown');
  // Its own ServiceAccount, not the controller's.
  assert.notEqual(pod.serviceAccountName, podSpecOf(objects, 'Deployment')!.serviceAccountName);
  return speaker;
}

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

/** `kubectl auth can-i ARGS --as=USER`. */
async function can(user: string, args: string[]): Promise<boolean> {
  try {
    return (await kubectl(cluster, ['auth', 'can-i', ...args, `--as=${user}`])).trim() === 'yes';
  } catch (error) {
    // kubectl exits 1 for "no" and prints "no"; anything else is a failure of the check itself.
    const stdout = (error as { stdout?: string }).stdout?.trim();
    if (stdout === 'no') return false;
    throw error;
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

// The CRDs the chart ships (its crds subchart), by name.
const CHART_CRDS = readdirSync(join(CHART, 'charts/crds/templates')).map(
  (file) =>
    (
      parse(readFileSync(join(CHART, 'charts/crds/templates', file), 'utf8')) as {
        metadata: { name: string };
      }
    ).metadata.name,
);

// Directories holding ServiceAccount tokens; removed when the file's tests end.
const tokenDirs: string[] = [];
after(async () => {
  for (const dir of tokenDirs) await rm(dir, { recursive: true, force: true });
});

/** A kubeconfig for the test cluster holding only a token of the ServiceAccount `name` in NS. */
async function tokenKubeconfig(name: string): Promise<string> {
  const token = (await kubectl(cluster, ['create', 'token', name, '-n', NS, '--duration=1h'])).trim();
  const admin = parse(readFileSync(cluster.kubeconfigPath, 'utf8')) as {
    clusters: Array<{ name: string; cluster: Record<string, unknown> }>;
  };
  const dir = await mkdtemp(join(tmpdir(), 'sluice-chart-'));
  tokenDirs.push(dir);
  const path = join(dir, 'kubeconfig');
  await writeFile(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: admin.clusters[0]!.cluster }],
      users: [{ name, user: { token } }],
      contexts: [{ name, context: { cluster: 'test', user: name } }],
      'current-context': name,
    }),
    { mode: 0o600 },
  );
  return path;
}

/** Installs the release once, then prepares a kubeconfig that holds only its ServiceAccount's token. */
function installOnce(): Promise<void> {
  installed ??= (async () => {
    // The chart must own the CRDs it ships; earlier test files may have applied them with kubectl.
    await kubectl(cluster, ['delete', 'crd', ...CHART_CRDS, '--ignore-not-found', '--wait=true']);
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
      ...CHART_CRDS.map((name) => `crd/${name}`),
      '--timeout=30s',
    ]);
    sluiceKubeconfig = await tokenKubeconfig(RELEASE);
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
      const objects = parseAllDocuments(rendered)
        .map((d) => d.toJS() as Rendered | null)
        .filter((o): o is Rendered => o !== null);
      const controllerPod = podSpecOf(objects, 'Deployment')!;
      assert.notEqual(controllerPod.hostNetwork, true);
      assert.equal(controllerPod.containers[0]!.securityContext?.capabilities?.add, undefined);
      if (objects.some((o) => o.kind === 'DaemonSet')) assertSpeakerPod(objects);
    });
  }

  test('the speaker is on by default for the pool provider, and speaker.enabled=false renders none of it', async () => {
    const on = await render([]);
    const speaker = assertSpeakerPod(on);
    assert.equal(flag(speaker, 'health-address'), ':7473');
    assert.equal(flag(speaker, 'heartbeat-duration'), '6');
    assert.equal(flag(speaker, 'heartbeat-interval'), '2');
    const pod = podSpecOf(on, 'DaemonSet')!;
    assert.equal(pod.serviceAccountName, SPEAKER);
    assert.deepEqual(pod.tolerations, [
      { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
    const names = (objects: Rendered[]): string[] => objects.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(
      names(on)
        .filter((n) => n.includes('speaker'))
        .sort(),
      [
        `ClusterRole/${SPEAKER}`,
        `ClusterRoleBinding/${SPEAKER}`,
        `DaemonSet/${SPEAKER}`,
        `Role/${SPEAKER}-heartbeat`,
        `RoleBinding/${SPEAKER}-heartbeat`,
        `ServiceAccount/${SPEAKER}`,
      ],
    );
    const off = await render(['--set', 'speaker.enabled=false']);
    assert.deepEqual(
      names(off).filter((n) => n.includes('speaker')),
      [],
    );
    const notesOf = async (args: string[]): Promise<string> => {
      const out = await helm(['install', RELEASE, CHART, '-n', NS, '--dry-run=client', ...args]);
      return out.slice(out.indexOf('NOTES:'));
    };
    const notes = await notesOf([]);
    assert.match(notes, new RegExp(`rollout status daemonset/${SPEAKER}`));
    assert.match(notes, /kind: L2Advertisement/);
    assert.match(notes, /pod-security\.kubernetes\.io\/enforce=privileged/);
    assert.doesNotMatch(
      await notesOf(['--set', 'speaker.enabled=false']),
      /speaker|L2Advertisement|l2announcement/,
    );
  });

  test('speaker values reach the DaemonSet', async () => {
    const objects = await render(['-f', join(CHART, 'ci', 'everything-values.yaml')]);
    const pod = podSpecOf(objects, 'DaemonSet')!;
    const speaker = assertSpeakerPod(objects);
    assert.equal(flag(speaker, 'health-address'), ':7479');
    assert.equal(flag(speaker, 'heartbeat-duration'), '10');
    assert.equal(flag(speaker, 'heartbeat-interval'), '2.5');
    assert.equal(flag(speaker, 'log-level'), 'debug');
    assert.equal(flag(speaker, 'manage-unclassed'), 'true');
    assert.ok(speaker.args?.includes('--log-level=trace'), 'extraArgs');
    assert.ok(
      speaker.env?.some((e) => e.name === 'EXTRA' && e.value === '1'),
      'extraEnv',
    );
    assert.equal(pod.serviceAccountName, 'sluice-announcer');
    assert.equal(pod.priorityClassName, 'system-node-critical');
    assert.equal(pod.terminationGracePeriodSeconds, 20);
    assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
    assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux', 'example.com/lan': 'true' });
    assert.ok(pod.affinity?.nodeAffinity, 'affinity');
  });

  test('the aws values reach the controller; nodes and EndpointSlices are readable; no speaker', async () => {
    const objects = await render([
      '-f',
      join(CHART, 'ci', 'aws-values.yaml'),
      '--set',
      'aws.endpoint=http://127.0.0.1:5000',
    ]);
    const controller = podSpecOf(objects, 'Deployment')!.containers[0]!;
    assert.equal(flag(controller, 'provider'), 'aws');
    assert.equal(flag(controller, 'aws-region'), 'us-east-1');
    assert.equal(flag(controller, 'aws-vpc-id'), 'vpc-0123456789abcdef0');
    assert.equal(flag(controller, 'aws-endpoint'), 'http://127.0.0.1:5000');
    assert.equal(podSpecOf(objects, 'DaemonSet'), undefined);
    const rules =
      objects.find((o) => o.kind === 'ClusterRole' && !o.metadata.name.includes('speaker'))?.rules ?? [];
    const can = (resource: string, verb: string): boolean =>
      rules.some((r) => r.resources.includes(resource) && r.verbs.includes(verb));
    assert.ok(can('nodes', 'watch') && can('endpointslices', 'watch'), 'nodes and endpointslices list/watch');
    assert.ok(!can('nodes', 'patch'), 'never writes nodes');
    // The pool provider reads neither.
    const pool = (await render([])).find(
      (o) => o.kind === 'ClusterRole' && !o.metadata.name.includes('speaker'),
    );
    assert.ok(!pool?.rules?.some((r) => r.resources.includes('nodes')));
  });

  test('the gcp and azure values reach the controller, and each refuses to install half-configured', async () => {
    const gcp = podSpecOf(await render(['-f', join(CHART, 'ci', 'gcp-values.yaml')]), 'Deployment')!
      .containers[0]!;
    assert.equal(flag(gcp, 'provider'), 'gcp');
    assert.equal(flag(gcp, 'gcp-project'), 'my-project-123');
    assert.equal(flag(gcp, 'gcp-region'), 'us-central1');
    assert.equal(flag(gcp, 'gcp-network'), 'cluster-vpc');
    assert.equal(flag(gcp, 'gcp-subnetwork'), 'nodes');
    assert.equal(flag(gcp, 'gcp-node-tags'), 'gke-cluster-node');
    const azure = podSpecOf(await render(['-f', join(CHART, 'ci', 'azure-values.yaml')]), 'Deployment')!
      .containers[0]!;
    assert.equal(flag(azure, 'provider'), 'azure');
    assert.equal(flag(azure, 'azure-subscription-id'), '00000000-0000-0000-0000-000000000001');
    assert.equal(flag(azure, 'azure-resource-group'), 'mc-cluster');
    assert.equal(flag(azure, 'azure-security-group'), 'cluster-nsg');
    assert.equal(flag(azure, 'azure-probe-mode'), 'nodeport');
    assert.match(
      (await helmError(['template', 'x', CHART, '--set', 'provider=gcp'])) ?? 'accepted',
      /gcp\/project/,
    );
    assert.match(
      (await helmError(['template', 'x', CHART, '--set', 'provider=azure'])) ?? 'accepted',
      /azure\/subscriptionId/,
    );
  });

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
    const provider = await helmError(['template', 'x', CHART, '--set', 'provider=ibm']);
    assert.match(provider ?? 'accepted', /provider/);
    // The aws provider cannot work without a region.
    const region = await helmError(['template', 'x', CHART, '--set', 'provider=aws']);
    assert.match(region ?? 'accepted', /aws\/region/);
    const vpc = await helmError([
      'template',
      'x',
      CHART,
      '--set',
      'provider=aws,aws.region=us-east-1,aws.vpcId=vpc1',
    ]);
    assert.match(vpc ?? 'accepted', /aws\/vpcId/);
    // Two replicas without leader election would each hand out addresses on their own.
    const unsafe = await helmError(['template', 'x', CHART, '--set', 'leaderElection.enabled=false']);
    assert.match(unsafe ?? 'accepted', /replicaCount > 1 needs leaderElection.enabled=true/);
    const speakerTypo = await helmError(['template', 'x', CHART, '--set', 'speaker.hearbeat.duration=6']);
    assert.match(speakerTypo ?? 'accepted', /additional properties 'hearbeat' not allowed/);
    const fractional = await helmError([
      'template',
      'x',
      CHART,
      '--set-json',
      'speaker.heartbeat.duration=6.5',
    ]);
    assert.match(fractional ?? 'accepted', /speaker\/heartbeat\/duration/);
    const port = await helmError(['template', 'x', CHART, '--set', 'speaker.healthPort=70000']);
    assert.match(port ?? 'accepted', /speaker\/healthPort/);
    // The speaker's own rule (its address lifetime fence): floor(D - R) >= R + 1 and D >= R + 3.
    const timings: Array<[number, number, boolean]> = [
      [6, 5.5, false],
      [4, 2, false],
      [3, 1, false],
      [6, 2, true],
      [4, 1, true],
    ];
    for (const [duration, interval, accepted] of timings) {
      const error = await helmError([
        'template',
        'x',
        CHART,
        '--set-json',
        `speaker.heartbeat.duration=${duration}`,
        '--set-json',
        `speaker.heartbeat.interval=${interval}`,
      ]);
      if (accepted) assert.equal(error, undefined, `${duration}/${interval} must be accepted`);
      else
        assert.match(
          error ?? `${duration}/${interval} accepted`,
          /speaker\.heartbeat: need floor\(duration - interval\)/,
        );
    }
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
      ['daemonset', SPEAKER, true],
      ['serviceaccount', SPEAKER, true],
      ['role', `${SPEAKER}-heartbeat`, true],
      ['rolebinding', `${SPEAKER}-heartbeat`, true],
      ['clusterrole', SPEAKER, false],
      ['clusterrolebinding', SPEAKER, false],
    ] as const) {
      await kubectl(cluster, ['get', kind, name, ...(namespaced ? ['-n', NS] : [])]);
    }
  });

  test('the ServiceAccount can do what Sluice needs and nothing more', async () => {
    await installOnce();
    const lease = `leases/${RELEASE}-leader`;
    const allowed: string[][] = [
      ['watch', 'services', '-A'],
      ['patch', 'services', '-n', 'default'],
      ['patch', 'services/status', '-n', 'default'],
      ['create', 'events.events.k8s.io', '-n', 'default'],
      ['list', 'addresspools.sluice.dev'],
      ['get', 'addresspools.sluice.dev', '--subresource=status'],
      ['patch', 'addresspools.sluice.dev', '--subresource=status'],
      ['list', 'namespaces'],
      ['watch', 'namespaces'],
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
      ['patch', 'addresspools.sluice.dev'],
      ['update', 'addresspools.sluice.dev', '--subresource=status'],
      ['patch', 'namespaces'],
      ['create', 'l2announcements.sluice.dev', '-n', 'default'],
      ['create', 'pods', '-n', NS],
      ['escalate', 'clusterroles'],
    ];
    for (const a of allowed) assert.equal(await can(SA, a), true, `should be allowed: ${a.join(' ')}`);
    for (const d of denied) assert.equal(await can(SA, d), false, `should be denied: ${d.join(' ')}`);
  });

  test('the speaker ServiceAccount can do what the speaker needs and nothing more', async () => {
    await installOnce();
    const allowed: string[][] = [
      ...['get', 'list', 'watch'].flatMap((verb) => [
        [verb, 'services', '-A'],
        [verb, 'nodes'],
        [verb, 'endpointslices.discovery.k8s.io', '-A'],
        [verb, 'addresspools.sluice.dev'],
        [verb, 'l2advertisements.sluice.dev'],
      ]),
      ...['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'].map((verb) => [
        verb,
        'l2announcements.sluice.dev',
        '-n',
        'default',
      ]),
      ['create', 'events.events.k8s.io', '-n', 'default'],
      ['patch', 'events.events.k8s.io', '-n', 'default'],
      ...['get', 'list', 'watch', 'create', 'update', 'delete'].map((verb) => [verb, 'leases', '-n', NS]),
    ];
    const denied: string[][] = [
      ['get', 'secrets', '-n', NS],
      ['list', 'secrets', '-A'],
      ['get', 'configmaps', '-n', NS],
      ['patch', 'services', '-n', 'default'],
      ['patch', 'services/status', '-n', 'default'],
      ['update', 'services', '-n', 'default'],
      ['delete', 'services', '-n', 'default'],
      ['patch', 'nodes'],
      ['update', 'nodes/status'],
      ['create', 'addresspools.sluice.dev'],
      ['patch', 'addresspools.sluice.dev', '--subresource=status'],
      ['update', 'l2advertisements.sluice.dev'],
      ['create', 'leases', '-n', 'default'],
      ['update', 'leases', '-n', 'kube-node-lease'],
      ['create', 'endpointslices.discovery.k8s.io', '-n', 'default'],
      ['create', 'pods', '-n', NS],
      ['list', 'pods', '-A'],
      ['escalate', 'clusterroles'],
    ];
    for (const a of allowed)
      assert.equal(await can(SPEAKER_SA, a), true, `should be allowed: ${a.join(' ')}`);
    for (const d of denied) assert.equal(await can(SPEAKER_SA, d), false, `should be denied: ${d.join(' ')}`);
  });

  test('the speaker runs with nothing but its ServiceAccount token and the DaemonSet arguments', async () => {
    await installOnce();
    const kubeconfig = await tokenKubeconfig(SPEAKER);
    // As a user without capabilities, it can read this machine's interfaces but never change them; and
    // no Node of this name exists, so it is never elected to announce anything.
    chownSync(kubeconfig, 65532, 65532);
    chmodSync(dirname(kubeconfig), 0o755);
    const node = 'chart-test-node';
    const jsonpath = 'jsonpath={.spec.template.spec.containers[0].args}';
    const daemonArgs = JSON.parse(
      await kubectl(cluster, ['get', 'daemonset', SPEAKER, '-n', NS, '-o', jsonpath]),
    ) as string[];
    assert.equal(daemonArgs[0], 'speaker');
    const args = daemonArgs
      .slice(1)
      .filter((a) => !a.startsWith('--health-address'))
      .map((a) => a.replace('$(NODE_NAME)', node).replace('$(POD_NAMESPACE)', NS));
    const speaker = spawn(
      'setpriv',
      [
        '--reuid=65532',
        '--regid=65532',
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        process.execPath,
        MAIN,
        'speaker',
        ...args,
        `--kubeconfig=${kubeconfig}`,
        '--health-address=127.0.0.1:0',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: string[] = [];
    let stderr = '';
    speaker.stdout.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    speaker.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => speaker.on('exit', (code) => resolve(code)));
    const logs = (): string => `${lines.slice(-20).join('\n')}\n${stderr}`;
    try {
      let port = 0;
      await waitFor(
        () => {
          if (speaker.exitCode !== null)
            throw new Error(`the speaker exited with ${speaker.exitCode}:\n${logs()}`);
          const line = lines.find((l) => l.includes('serving /healthz, /readyz and /metrics'));
          port = line ? ((JSON.parse(line) as { port: number }).port ?? 0) : 0;
          return port > 0;
        },
        20_000,
        logs,
      );
      // Ready means every watch the speaker needs is synced: the ClusterRole is enough.
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
        20_000,
        logs,
      );
      // Its heartbeat Lease, created and renewed through the Role.
      let holder = '';
      await waitFor(
        async () => {
          holder = await kubectl(cluster, [
            'get',
            'lease',
            `sluice-speaker-${node}`,
            '-n',
            NS,
            '-o',
            'jsonpath={.spec.holderIdentity}',
          ]).catch(() => '');
          return holder === node;
        },
        20_000,
        logs,
      );
      assert.ok(!lines.some((l) => /forbidden/i.test(l)), `a request was forbidden:\n${logs()}`);
    } finally {
      speaker.kill('SIGTERM');
    }
    assert.equal(await exited, 0, logs());
    // On shutdown it deletes its Lease (so the others take over at once): delete is granted too.
    await assert.rejects(kubectl(cluster, ['get', 'lease', `sluice-speaker-${node}`, '-n', NS]), /NotFound/);
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
