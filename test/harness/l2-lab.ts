// The L2 data-plane lab: "node" network namespaces and a client namespace on one LAN, each node with a
// speaker, a TCP name server and its own path to the test apiserver; a client that keeps connecting to an
// address. Used by test/e2e/l2-failover.test.ts and bench/l2-failover.ts.
//
// The apiserver listens on 127.0.0.1 of the root namespace only. Each node reaches it through a unix socket:
// in the root namespace (this process) a forwarder listens on the socket and connects to the apiserver;
// inside the node a forwarder process listens on 127.0.0.1:<apiserver port> and connects to the socket. So
// the test's kubeconfig works unchanged inside a node, and killing a node's forwarder cuts it off the API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { createObject, kubectl } from '../e2e/support.ts';
import { type CleanUpStep, cleanUp } from './clean-up.ts';
import {
  addressesOn,
  type InterfaceAddress,
  ipIn,
  Lan,
  MEMBER_INTERFACE,
  type Member,
  NamespaceProcess,
  neighbourSolicitSysctls,
  setSysctlsIn,
  sweepStaleNamespaces,
  sysctlsIn,
} from './netns.ts';
import { UnixForwarder } from './unix-forwarder.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/main.ts');
const HARNESS = fileURLToPath(new URL('.', import.meta.url));

export type Cluster = { kubeconfigPath: string; binDir: string };

export type LabNodeSpec = {
  /** Short key, [a-z0-9]{1,8}; the Node object is named PREFIX-PID-KEY. */
  key: string;
  ipv4: string;
  ipv6?: string;
};

export type LabNode = {
  key: string;
  /** The Node object's name, also the speaker's --node-name and its name server's answer. */
  name: string;
  member: Member;
  server: NamespaceProcess;
  /** The in-namespace half of its apiserver path; undefined while cut. */
  apiForwarder: NamespaceProcess | undefined;
  speaker: NamespaceProcess | undefined;
};

export type SpeakerSettings = {
  namespace: string;
  loadBalancerClass: string;
  heartbeatDurationSeconds: number;
  heartbeatIntervalSeconds: number;
};

export type LabOptions = {
  cluster: Cluster;
  /** Prefix of namespace and Node names; stale namespaces with it from dead runs are swept first. */
  prefix: string;
  nodes: LabNodeSpec[];
  client: { ipv4: string; ipv6?: string };
  /** The port every node's name server listens on. */
  servicePort: number;
};

/** The apiserver endpoint of a kubeconfig's current cluster (must be loopback, as the harness makes it). */
function apiserverOf(kubeconfigPath: string): { host: string; port: number } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error(`${kubeconfigPath}: no current cluster server`);
  const url = new URL(server);
  return { host: url.hostname, port: Number(url.port || 443) };
}

export class L2Lab {
  readonly options: LabOptions;
  readonly nodes: LabNode[] = [];
  /** Every process started here that may still run; destroy() kills them all. */
  readonly #processes = new Set<NamespaceProcess>();
  readonly #rootForwarders: UnixForwarder[] = [];
  readonly #socketDir: string;
  readonly #apiserver: { host: string; port: number };
  #lan: Lan | undefined;

  private constructor(options: LabOptions) {
    this.options = options;
    this.#apiserver = apiserverOf(options.cluster.kubeconfigPath);
    this.#socketDir = mkdtempSync(join(tmpdir(), 'sluice-l2-'));
  }

  /** Builds the LAN, the apiserver paths and the name servers. On failure, undoes what it made and rejects. */
  static async create(options: LabOptions): Promise<L2Lab> {
    await sweepStaleNamespaces(options.prefix);
    const lab = new L2Lab(options);
    try {
      await lab.#build();
    } catch (error) {
      await lab.destroy().catch(() => undefined);
      throw error;
    }
    return lab;
  }

  get lan(): Lan {
    if (!this.#lan) throw new Error('the LAN is not built');
    return this.#lan;
  }

  get client(): Member {
    return this.lan.member('client');
  }

  node(key: string): LabNode {
    const node = this.nodes.find((n) => n.key === key || n.name === key);
    if (!node) throw new Error(`no lab node ${key}`);
    return node;
  }

  /** The other node of a two-node lab. */
  other(node: LabNode): LabNode {
    const others = this.nodes.filter((n) => n !== node);
    if (others.length !== 1) throw new Error('other() needs a two-node lab');
    return others[0]!;
  }

  /** Runs a program inside a namespace; destroy() kills it if it still runs. */
  spawn(name: string, namespace: string, command: string, args: string[]): NamespaceProcess {
    const child = new NamespaceProcess(name, namespace, command, args, { cwd: ROOT });
    this.#processes.add(child);
    void child.exited.then(() => this.#processes.delete(child));
    return child;
  }

  /** Starts `sluice speaker` inside the node; resolves once it serves its health endpoints. */
  async startSpeaker(node: LabNode, settings: SpeakerSettings): Promise<NamespaceProcess> {
    if (node.speaker?.running) throw new Error(`${node.name} already runs a speaker`);
    const speaker = this.spawn(`speaker ${node.name}`, node.member.namespace, process.execPath, [
      MAIN,
      'speaker',
      '--node-name',
      node.name,
      '--namespace',
      settings.namespace,
      '--kubeconfig',
      this.options.cluster.kubeconfigPath,
      '--load-balancer-class',
      settings.loadBalancerClass,
      '--health-address',
      '127.0.0.1:0',
      '--heartbeat-duration',
      String(settings.heartbeatDurationSeconds),
      '--heartbeat-interval',
      String(settings.heartbeatIntervalSeconds),
      '--log-level',
      'debug',
    ]);
    node.speaker = speaker;
    await speaker.waitForLine((l) => l.msg === 'serving /healthz, /readyz and /metrics', 60_000);
    return speaker;
  }

  /** Starts the in-namespace half of the node's apiserver path. */
  async startApiForwarder(node: LabNode): Promise<void> {
    if (node.apiForwarder?.running) return;
    const forwarder = this.spawn(`api forwarder ${node.name}`, node.member.namespace, process.execPath, [
      join(HARNESS, 'unix-forwarder.ts'),
      'tcp-to-unix',
      `${this.#apiserver.host}:${this.#apiserver.port}`,
      this.#socketOf(node),
    ]);
    node.apiForwarder = forwarder;
    await forwarder.waitForLine((l) => l.msg === 'forwarding', 30_000);
  }

  /** Cuts the node off the apiserver: its forwarder dies, and every connection through it with it. */
  async cutApi(node: LabNode): Promise<void> {
    await node.apiForwarder?.stop('SIGKILL');
    node.apiForwarder = undefined;
  }

  /** A client process that keeps connecting to HOST:PORT (see tcp-probe.ts). */
  startProbe(host: string, port: number, timeoutMs = 250, intervalMs = 100): NamespaceProcess {
    return this.spawn(`probe ${host}`, this.client.namespace, process.execPath, [
      join(HARNESS, 'tcp-probe.ts'),
      host,
      String(port),
      String(timeoutMs),
      String(intervalMs),
    ]);
  }

  /** The nodes whose interface carries `address` right now, as the kernel says. */
  async holders(address: string): Promise<LabNode[]> {
    const held = await Promise.all(
      this.nodes.map(async (node) =>
        (await addressesOn(node.member.namespace, MEMBER_INTERFACE)).some((a) => a.local === address),
      ),
    );
    return this.nodes.filter((_, i) => held[i]);
  }

  /** The address entry (lifetimes included) on a node's interface, if it is there. */
  async addressOn(node: LabNode, address: string): Promise<InterfaceAddress | undefined> {
    return (await addressesOn(node.member.namespace, MEMBER_INTERFACE)).find((a) => a.local === address);
  }

  /** The client's neighbour entry for `address`: the MAC it sends to, and the entry's state. */
  async clientNeighbour(address: string): Promise<{ mac?: string; state: string[] } | undefined> {
    const entries = JSON.parse(
      await ipIn(this.client.namespace, ['-j', 'neigh', 'show', 'to', address, 'dev', MEMBER_INTERFACE]),
    ) as Array<{ lladdr?: string; state?: string[] }>;
    const entry = entries[0];
    return entry ? { mac: entry.lladdr, state: entry.state ?? [] } : undefined;
  }

  /** Which node a MAC address belongs to. */
  nodeWithMac(mac: string | undefined): LabNode | undefined {
    return this.nodes.find((n) => n.member.mac === mac);
  }

  /**
   * Stops the client from resolving addresses by itself (see neighbourSolicitSysctls): from now on only an
   * unsolicited announcement can move its neighbour entries. Resolves with the function that puts the
   * settings back as they were.
   */
  async stopClientResolving(): Promise<() => Promise<void>> {
    const { namespace, ipv6 } = this.client;
    const names = neighbourSolicitSysctls(MEMBER_INTERFACE, ipv6 ? ['ipv4', 'ipv6'] : ['ipv4']);
    const before = await sysctlsIn(namespace, names);
    await setSysctlsIn(namespace, new Map(names.map((name) => [name, '0'])));
    return () => setSysctlsIn(namespace, before);
  }

  /**
   * Kills every process it started, closes the apiserver paths and deletes the LAN with all its links. Tries
   * every step even when one fails, then rejects listing all that failed.
   */
  async destroy(): Promise<void> {
    const steps: CleanUpStep[] = [
      ...[...this.#processes].map((p): CleanUpStep => [`stop ${p.name}`, () => p.stop('SIGKILL')]),
      ...this.#rootForwarders
        .splice(0)
        .map((f, i): CleanUpStep => [`close apiserver forwarder ${i + 1}`, () => f.close()]),
      [
        'delete the LAN namespaces',
        async () => {
          const lan = this.#lan;
          this.#lan = undefined;
          await lan?.destroy();
        },
      ],
      ['remove the socket directory', () => rmSync(this.#socketDir, { recursive: true, force: true })],
    ];
    await cleanUp('L2 lab clean-up', steps);
  }

  #socketOf(node: LabNode): string {
    return join(this.#socketDir, `api-${node.key}.sock`);
  }

  async #build(): Promise<void> {
    const { prefix, nodes, client, servicePort } = this.options;
    this.#lan = await Lan.create(prefix, [
      ...nodes.map((n) => ({ name: n.key, ipv4: n.ipv4, ...(n.ipv6 ? { ipv6: n.ipv6 } : {}) })),
      { name: 'client', ...client },
    ]);
    for (const spec of nodes) {
      const member = this.lan.member(spec.key);
      const name = member.namespace;
      const server = this.spawn(`name server ${name}`, member.namespace, process.execPath, [
        join(HARNESS, 'name-server.ts'),
        name,
        String(servicePort),
      ]);
      const node: LabNode = {
        key: spec.key,
        name,
        member,
        server,
        apiForwarder: undefined,
        speaker: undefined,
      };
      this.nodes.push(node);
      // One socket per node, so a node's path can be told apart in a trace.
      this.#rootForwarders.push(await UnixForwarder.toTcp(this.#socketOf(node), this.#apiserver));
      await this.startApiForwarder(node);
      await server.waitForLine((l) => l.msg === 'listening', 30_000);
    }
  }
}

/**
 * Creates a Node object and sets its Ready condition (there is no kubelet to do it), with the node's LAN
 * address as its InternalIP.
 */
export async function createReadyNode(cluster: Cluster, name: string, internalIP: string): Promise<void> {
  await createObject(cluster, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
  });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await kubectl(cluster, [
    'patch',
    'node',
    name,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'set by the L2 data-plane test (no kubelet)',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
        addresses: [{ type: 'InternalIP', address: internalIP }],
      },
    }),
  ]);
}
