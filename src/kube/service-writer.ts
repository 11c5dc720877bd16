// The only writes Sluice makes to Services: its finalizer and the status subresource.
// Every write is a JSON merge patch guarded by the resourceVersion the decision was based on,
// so a decision made on a stale copy is refused (409) instead of overwriting newer data.
import { type CoreV1Api, PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface ServiceStatusBody {
  loadBalancer: { ingress?: unknown[] | null };
  conditions?: unknown[] | null;
}

export class ServiceWriter {
  readonly #api: CoreV1Api;
  readonly #onWrite: (resource: 'services' | 'services/status') => void;

  constructor(api: CoreV1Api, onWrite: (resource: 'services' | 'services/status') => void) {
    this.#api = api;
    this.#onWrite = onWrite;
  }

  async setFinalizers(service: V1Service, finalizers: string[]): Promise<V1Service> {
    this.#onWrite('services');
    return this.#api.patchNamespacedService(
      {
        name: service.metadata!.name!,
        namespace: service.metadata!.namespace!,
        body: { metadata: { finalizers, resourceVersion: service.metadata!.resourceVersion } },
      },
      MERGE,
    );
  }

  async patchStatus(service: V1Service, status: ServiceStatusBody): Promise<V1Service> {
    this.#onWrite('services/status');
    return this.#api.patchNamespacedServiceStatus(
      {
        name: service.metadata!.name!,
        namespace: service.metadata!.namespace!,
        body: { metadata: { resourceVersion: service.metadata!.resourceVersion }, status },
      },
      MERGE,
    );
  }
}
