// Node and EndpointSlice caches for providers whose load balancers target nodes or Pods.
// A change that alters targets wakes the Services it affects: any node change → every managed
// Service (their plans are empty unless their targets changed); a slice change → its Service only.
import {
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1EndpointSlice,
  type V1Node,
  type V1Service,
} from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import type { Logger } from 'pino';
import { SERVICE_NAME_LABEL, serviceEndpoints, targetNodes } from '../intent/targets.ts';
import type { EndpointTarget, TargetNode } from '../intent/types.ts';
import { objectKey, Reflector } from '../kube/reflector.ts';

export interface ClusterFactsOptions {
  kubeConfig: KubeConfig;
  needs: { nodes?: boolean; endpoints?: boolean };
  watchdogMs: number;
  relistMs: number;
  log: Logger;
  onRestart: (resource: string) => (reason: string) => void;
  /** The node set changed in a way that matters to targets. */
  onNodesChanged: () => void;
  /** The ready endpoints of this Service (namespace/name) changed. */
  onEndpointsChanged: (serviceKey: string) => void;
}

export class ClusterFacts {
  readonly reflectors: Reflector<V1Node | V1EndpointSlice>[] = [];
  #nodes: Reflector<V1Node> | undefined;
  #targets: TargetNode[] = [];
  #targetsStale = true;
  /** Service key → keys of its EndpointSlices. */
  readonly #slicesByService = new Map<string, Set<string>>();
  #slices: Reflector<V1EndpointSlice> | undefined;

  constructor(options: ClusterFactsOptions) {
    const common = {
      kubeConfig: options.kubeConfig,
      watchdogMs: options.watchdogMs,
      relistMs: options.relistMs,
      log: options.log,
    };
    if (options.needs.nodes) {
      const core = options.kubeConfig.makeApiClient(CoreV1Api);
      const changed = (): void => {
        this.#targetsStale = true;
        options.onNodesChanged();
      };
      this.#nodes = new Reflector<V1Node>(
        {
          ...common,
          name: 'nodes',
          watchPath: '/api/v1/nodes',
          list: async () => {
            const list = await core.listNode();
            return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
          },
          decode: (raw) => ObjectSerializer.deserialize(raw, 'V1Node') as V1Node,
          onRestart: options.onRestart('nodes'),
        },
        {
          // Kubelets update node status often; only what decides targets counts.
          onUpsert: (node, old) => {
            if (!old || targetFingerprint(node) !== targetFingerprint(old)) changed();
          },
          onDelete: changed,
        },
      );
      this.reflectors.push(this.#nodes as Reflector<V1Node | V1EndpointSlice>);
    }
    if (options.needs.endpoints) {
      const discovery = options.kubeConfig.makeApiClient(DiscoveryV1Api);
      const changed = (slice: V1EndpointSlice): void => {
        const service = serviceKeyOf(slice);
        if (service) options.onEndpointsChanged(service);
      };
      this.#slices = new Reflector<V1EndpointSlice>(
        {
          ...common,
          name: 'endpointslices',
          watchPath: '/apis/discovery.k8s.io/v1/endpointslices',
          list: async () => {
            const list = await discovery.listEndpointSliceForAllNamespaces();
            return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
          },
          decode: (raw) => ObjectSerializer.deserialize(raw, 'V1EndpointSlice') as V1EndpointSlice,
          onRestart: options.onRestart('endpointslices'),
        },
        {
          onUpsert: (slice, old) => {
            this.#index(slice, true);
            if (!old || endpointFingerprint(slice) !== endpointFingerprint(old)) changed(slice);
          },
          onDelete: (slice) => {
            this.#index(slice, false);
            changed(slice);
          },
        },
      );
      this.reflectors.push(this.#slices as Reflector<V1Node | V1EndpointSlice>);
    }
  }

  /** The facts for one Service; empty lists for what the provider does not need. */
  factsFor(service: V1Service): { nodes: TargetNode[]; endpoints: EndpointTarget[] } {
    if (this.#nodes && this.#targetsStale) {
      this.#targets = targetNodes(this.#nodes.list());
      this.#targetsStale = false;
    }
    const slices = [...(this.#slicesByService.get(objectKey(service)) ?? [])]
      .map((key) => this.#slices?.get(key))
      .filter((s): s is V1EndpointSlice => s !== undefined);
    return { nodes: this.#targets, endpoints: serviceEndpoints(slices) };
  }

  #index(slice: V1EndpointSlice, present: boolean): void {
    const service = serviceKeyOf(slice);
    if (!service) return;
    const keys = this.#slicesByService.get(service) ?? new Set<string>();
    if (present) keys.add(objectKey(slice));
    else keys.delete(objectKey(slice));
    if (keys.size > 0) this.#slicesByService.set(service, keys);
    else this.#slicesByService.delete(service);
  }
}

function serviceKeyOf(slice: V1EndpointSlice): string | undefined {
  const name = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  const namespace = slice.metadata?.namespace;
  return name && namespace ? `${namespace}/${name}` : undefined;
}

/** What of a node decides whether and how it is a target. */
function targetFingerprint(node: V1Node): string {
  return JSON.stringify(targetNodes([node]));
}

function endpointFingerprint(slice: V1EndpointSlice): string {
  return JSON.stringify(serviceEndpoints([slice]));
}
