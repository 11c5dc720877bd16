// The Service reconciler: glue between the cache, decide(), a provider and the writers.
// Level-triggered: it reads the Service from the cache and drives the world toward it; it
// never trusts the event that woke it. At steady state it makes no write at all.
import { ApiException, type V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { decide } from '../intent/decide.ts';
import type { EndpointTarget, LoadBalancerIntent, Problem, ServiceRef, TargetNode } from '../intent/types.ts';
import type { EventRecorder, EventType } from '../kube/event-recorder.ts';
import { objectKey } from '../kube/reflector.ts';
import type { ServiceWriter } from '../kube/service-writer.ts';
import type { ReconcileOutcome } from '../kube/workqueue.ts';
import type { Provider } from '../providers/provider.ts';
import { capabilityProblems } from './capabilities.ts';
import {
  type DesiredCondition,
  hasFinalizer,
  isManaged,
  ofOtherClass,
  ourCondition,
  publishedAddresses,
  type Selection,
  statusChange,
  withFinalizer,
  withoutFinalizer,
} from './service-state.ts';

export interface ReconcilerDeps {
  getService: (key: string) => V1Service | undefined;
  listServices: () => V1Service[];
  writer: ServiceWriter;
  events: EventRecorder;
  provider: Provider;
  selection: Selection;
  log: Logger;
  /** Wakes other Services, e.g. those waiting for an address when one was freed. */
  enqueue: (key: string) => void;
  onManagedCountChange?: (count: number) => void;
  /** The nodes and ready endpoints behind a Service, for providers that need them (Provider.needs). */
  clusterFacts?: (service: V1Service) => { nodes: TargetNode[]; endpoints: EndpointTarget[] };
}

/** Thrown for failures the user or platform must fix; the queue backs off quietly. */
export class Backoff extends Error {}

let reconcileCounter = 0;

export class ServiceReconciler {
  readonly #deps: ReconcilerDeps;
  /** Keys Sluice has provisioned for; used to clean up a Service that vanished unseen. */
  readonly #provisioned = new Map<string, ServiceRef>();
  /** The resourceVersion of each Service's last write by this process, until the cache catches up. */
  readonly #written = new Map<string, bigint>();

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
  }

  /**
   * Hands the provider every address Services already publish, before the first reconcile, oldest
   * Service first: if two publish the same address and may not share it, the older one keeps it.
   */
  adoptExisting(): void {
    const existing = this.#deps
      .listServices()
      // Ours: with our finalizer, or of our class (e.g. addressed by MetalLB before a switch to Sluice).
      .filter(
        (s) =>
          (hasFinalizer(s) || isManaged(s, this.#deps.selection)) && !ofOtherClass(s, this.#deps.selection),
      )
      .filter((s) => publishedAddresses(s).length > 0)
      .sort(olderFirst)
      .map((s) => {
        const ref = refOf(s);
        this.#provisioned.set(objectKey(s), ref);
        return { service: ref, key: objectKey(s), addresses: publishedAddresses(s), ...adoptionIntent(s) };
      });
    for (const problem of this.#deps.provider.adopt(existing)) {
      this.#deps.log.warn({ service: problem.key }, problem.message);
    }
    this.#deps.onManagedCountChange?.(this.#provisioned.size);
  }

  async reconcile(key: string): Promise<ReconcileOutcome | undefined> {
    const log = this.#deps.log.child({ service: key, reconcileID: (++reconcileCounter).toString(36) });
    const service = this.#deps.getService(key);
    if (!service) {
      this.#written.delete(key);
      const ref = this.#provisioned.get(key);
      if (ref) return this.#cleanup(key, ref, undefined, log);
      return undefined;
    }
    if (this.#behindOwnWrite(key, service)) return undefined;
    try {
      const managed = isManaged(service, this.#deps.selection);
      if (service.metadata?.deletionTimestamp || !managed) {
        // Another Sluice installation (another class) puts the same finalizer on its Services.
        if (ofOtherClass(service, this.#deps.selection)) return undefined;
        // After a type change the class is gone; the finalizer, or our own record, says it was ours.
        if (hasFinalizer(service) || this.#provisioned.has(key)) {
          return await this.#cleanup(key, refOf(service), service, log);
        }
        return undefined;
      }
      return await this.#ensure(key, service, log);
    } catch (error) {
      if (!(error instanceof Backoff) && !(error instanceof StaleCopy)) {
        // The user sees this on the Service; the log has the details.
        const deleting = service.metadata?.deletionTimestamp || !isManaged(service, this.#deps.selection);
        const reason = deleting ? 'DeleteLoadBalancerFailed' : 'SyncLoadBalancerFailed';
        this.#event(
          service,
          'Warning',
          reason,
          deleting ? 'Delete' : 'Ensure',
          `${errorText(error)}; retrying`,
        );
      }
      throw error;
    }
  }

  async #ensure(key: string, original: V1Service, log: Logger): Promise<ReconcileOutcome | undefined> {
    let service = original;
    const { intent, problems } = decide(service);
    if (this.#deps.clusterFacts) Object.assign(intent, this.#deps.clusterFacts(service));
    problems.push(...capabilityProblems(intent, this.#deps.provider.capabilities, this.#deps.provider.name));
    problems.push(...(this.#deps.provider.validate?.(intent) ?? []));
    const errors = problems.filter((p) => p.severity === 'error');
    const warnings = problems.filter((p) => p.severity === 'warning');
    if (errors.length > 0) {
      log.info({ problems: errors }, 'Service has problems that must be fixed in its manifest');
      // Reported once per change: a resync that finds the same problems writes nothing.
      if (await this.#writeStatus(service, undefined, failedCondition(errors), log)) {
        for (const p of [...errors, ...warnings])
          this.#event(service, 'Warning', p.reason, 'Ensure', problemText(p));
      }
      return undefined;
    }

    if (!hasFinalizer(service)) {
      // Invariant: the finalizer is on the Service before anything is allocated or created.
      service = await this.#guard(() => this.#deps.writer.setFinalizers(service, withFinalizer(service)));
    }
    // Announce work once per spec generation, not on every retry of a failing Service.
    const ready = ourCondition(service);
    const announced = ready !== undefined && ready.observedGeneration === service.metadata?.generation;
    if (publishedAddresses(service).length === 0 && !announced) {
      this.#event(service, 'Normal', 'EnsuringLoadBalancer', 'Ensure', 'Ensuring load balancer');
    }

    const provider = this.#deps.provider;
    // What the Service publishes is held for it, even if Sluice never saw it hand that out.
    if (publishedAddresses(service).length > 0) {
      for (const problem of provider.adopt([
        { service: intent.service, key, addresses: publishedAddresses(service), intent },
      ])) {
        log.warn(problem.message);
        this.#event(service, 'Warning', 'AddressInUse', 'Allocate', problem.message);
      }
    }
    const observed = await provider.observe(intent);
    const plan = provider.plan(intent, observed);
    const result = await provider.apply(intent, plan);

    if (result.kind === 'failed') {
      log.info({ reason: result.reason, problem: result.message }, 'load balancer not ensured');
      this.#event(
        service,
        'Warning',
        result.eventReason ?? 'SyncLoadBalancerFailed',
        'Ensure',
        result.message,
      );
      await this.#writeStatus(
        service,
        undefined,
        { status: 'False', reason: result.reason, message: result.message },
        log,
      );
      throw new Backoff(result.message);
    }
    this.#provisioned.set(key, intent.service);
    this.#deps.onManagedCountChange?.(this.#provisioned.size);
    if (result.kind === 'pending') {
      for (const change of result.changed ?? [])
        this.#event(service, 'Normal', change.reason, 'Ensure', change.message);
      await this.#writeStatus(
        service,
        undefined,
        { status: 'False', reason: result.reason ?? 'Pending', message: result.message },
        log,
      );
      return { requeueAfterMs: result.retryAfterMs };
    }
    for (const change of result.changed)
      this.#event(service, 'Normal', change.reason, 'Ensure', change.message);
    const addresses = result.ingress.map((i) => i.ip ?? i.hostname).join(', ');
    const notices = result.notices ?? [];
    const warningText = [...notices.map((n) => n.message), ...warnings.map(problemText)].join('; ');
    const wrote = await this.#writeStatus(
      service,
      result.ingress,
      {
        status: 'True',
        // A working load balancer with something to fix (e.g. its address left every pool) says so.
        reason: notices[0]?.reason ?? 'Ensured',
        message: `load balancer ready at ${addresses}${warningText ? `; warnings: ${warningText}` : ''}`,
      },
      log,
    );
    if (wrote) {
      for (const n of notices) this.#event(service, 'Warning', n.reason, 'Ensure', n.message);
      for (const p of warnings) this.#event(service, 'Warning', p.reason, 'Ensure', problemText(p));
      this.#event(
        service,
        'Normal',
        'EnsuredLoadBalancer',
        'Ensure',
        `Ensured load balancer at ${addresses}`,
      );
      log.info({ ingress: addresses }, 'load balancer ensured');
    }
    if (result.released.length > 0) this.#wakeWaiting(key);
    return undefined;
  }

  async #cleanup(
    key: string,
    ref: ServiceRef,
    service: V1Service | undefined,
    log: Logger,
  ): Promise<ReconcileOutcome | undefined> {
    const had =
      this.#provisioned.has(key) || (service !== undefined && publishedAddresses(service).length > 0);
    if (service && had)
      this.#event(service, 'Normal', 'DeletingLoadBalancer', 'Delete', 'Deleting load balancer');
    let current = service;
    if (service && !service.metadata?.deletionTimestamp) {
      // Type changed: the Service stays, so it stops publishing the address before the address
      // is given up (no moment where two Services publish it).
      current = (await this.#writeStatus(service, null, null, log)) ?? service;
    }
    const result = await this.#deps.provider.remove(ref, key);
    if (result.kind === 'pending') return { requeueAfterMs: result.retryAfterMs };
    this.#provisioned.delete(key);
    this.#deps.onManagedCountChange?.(this.#provisioned.size);
    if (current && service) {
      if (hasFinalizer(current)) {
        const withoutOurs = current;
        await this.#guard(() => this.#deps.writer.setFinalizers(withoutOurs, withoutFinalizer(withoutOurs)));
      }
      if (had) this.#event(service, 'Normal', 'DeletedLoadBalancer', 'Delete', 'Deleted load balancer');
    }
    log.info({ released: result.released }, 'load balancer removed');
    if (result.wake === 'all') this.#wakeAll(key);
    else if (result.released.length > 0) this.#wakeWaiting(key);
    return undefined;
  }

  /** Every other managed Service is reconciled again (e.g. to restore a rule it shared with this one). */
  #wakeAll(except: string): void {
    for (const s of this.#deps.listServices()) {
      const key = objectKey(s);
      if (key !== except && isManaged(s, this.#deps.selection)) this.#deps.enqueue(key);
    }
  }

  /** Services still waiting for an address get another try now that one was freed. */
  #wakeWaiting(except: string): void {
    for (const s of this.#deps.listServices()) {
      const key = objectKey(s);
      if (key !== except && isManaged(s, this.#deps.selection) && ourCondition(s)?.status === 'False') {
        this.#deps.enqueue(key);
      }
    }
  }

  /** Patches status only when it changes; returns the updated Service, or undefined if nothing changed. */
  async #writeStatus(
    service: V1Service,
    ingress: Parameters<typeof statusChange>[1],
    condition: DesiredCondition | null,
    log: Logger,
  ): Promise<V1Service | undefined> {
    const change = statusChange(service, ingress, condition, new Date());
    if (!change) return undefined;
    log.debug({ status: change }, 'patching status');
    return this.#guard(() => this.#deps.writer.patchStatus(service, change));
  }

  /** A 409 means our copy is stale; the watch will deliver the newer one and wake this key. */
  async #guard(write: () => Promise<V1Service>): Promise<V1Service> {
    let written: V1Service;
    try {
      written = await write();
    } catch (error) {
      if (error instanceof ApiException && error.code === 409) throw new StaleCopy();
      throw error;
    }
    const version = numericVersion(written);
    if (version !== undefined) this.#written.set(objectKey(written), version);
    return written;
  }

  /** After a full relist the cache is current; versions could even have gone back (etcd restored). */
  forgetOwnWrites(): void {
    this.#written.clear();
  }

  /**
   * True when the cache still holds a version older than one this process wrote: reconciling
   * it would only repeat a write and be refused. The watch brings the newer version shortly.
   */
  #behindOwnWrite(key: string, service: V1Service): boolean {
    const written = this.#written.get(key);
    const cached = numericVersion(service);
    if (written === undefined || cached === undefined) return false;
    if (cached < written) return true;
    this.#written.delete(key);
    return false;
  }

  #event(service: V1Service, type: EventType, reason: string, action: string, note: string): void {
    this.#deps.events.record(
      {
        apiVersion: 'v1',
        kind: 'Service',
        namespace: service.metadata?.namespace,
        name: service.metadata?.name ?? '',
        uid: service.metadata?.uid,
      },
      type,
      reason,
      action,
      note,
    );
  }
}

/** Raised when a write hit a newer version of the Service; not an error worth backing off for. */
export class StaleCopy extends Error {
  constructor() {
    super('the Service changed while it was being reconciled');
  }
}

/** Problem text for Events and conditions; a pasted essay in an annotation stays readable. */
function problemText(p: Problem): string {
  const text = `${p.field}: ${p.message}`;
  return text.length > 512 ? `${text.slice(0, 509)}...` : text;
}

function failedCondition(problems: Problem[]): DesiredCondition {
  const first = problems[0]!;
  return {
    status: 'False',
    reason: first.reason,
    message: problems.map(problemText).join('; '),
  };
}

/** Older Services first (creation time, then key): the order in which published addresses are claimed. */
function olderFirst(a: V1Service, b: V1Service): number {
  const ta = new Date(a.metadata?.creationTimestamp ?? 0).getTime();
  const tb = new Date(b.metadata?.creationTimestamp ?? 0).getTime();
  if (ta !== tb) return ta - tb;
  const ka = objectKey(a);
  const kb = objectKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * The Service's intent for adoption, even when its manifest has errors: its sharing key and ports
 * still decide who may share its address (an unrelated typo must not split a shared address).
 */
function adoptionIntent(service: V1Service): { intent: LoadBalancerIntent } {
  return { intent: decide(service).intent };
}

function refOf(service: V1Service): ServiceRef {
  return {
    namespace: service.metadata?.namespace ?? '',
    name: service.metadata?.name ?? '',
    uid: service.metadata?.uid ?? '',
  };
}

function errorText(error: unknown): string {
  if (error instanceof ApiException) return `Kubernetes API answered ${error.code}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * resourceVersions are opaque by contract, but the apiserver's come from etcd revisions and are
 * decimal integers; anything else is treated as unknown and never compared.
 */
function numericVersion(service: V1Service): bigint | undefined {
  const v = service.metadata?.resourceVersion;
  return v && /^\d{1,30}$/.test(v) ? BigInt(v) : undefined;
}
