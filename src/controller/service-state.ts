// Pure helpers over a Service object: is it ours, what does it publish, and what status
// should it carry. No I/O; the reconciler decides when to write.
import type { V1Condition, V1Service } from '@kubernetes/client-node';
import type { Ingress } from '../providers/provider.ts';

export const FINALIZER = 'sluice.dev/load-balancer-cleanup';
export const CONDITION_TYPE = 'LoadBalancerReady';

export interface Selection {
  loadBalancerClass: string;
  manageUnclassed: boolean;
}

/** Sluice manages LoadBalancer Services of its class (and, if configured, those of no class). */
export function isManaged(service: V1Service, selection: Selection): boolean {
  if (service.spec?.type !== 'LoadBalancer') return false;
  const cls = service.spec.loadBalancerClass;
  return cls === undefined || cls === '' ? selection.manageUnclassed : cls === selection.loadBalancerClass;
}

/** A class is named and it is not ours: whatever it carries belongs to someone else. */
export function ofOtherClass(service: V1Service, selection: Selection): boolean {
  const cls = service.spec?.loadBalancerClass;
  return cls !== undefined && cls !== '' && cls !== selection.loadBalancerClass;
}

export function hasFinalizer(service: V1Service): boolean {
  return service.metadata?.finalizers?.includes(FINALIZER) ?? false;
}

export function withFinalizer(service: V1Service): string[] {
  const finalizers = service.metadata?.finalizers ?? [];
  return finalizers.includes(FINALIZER) ? [...finalizers] : [...finalizers, FINALIZER];
}

export function withoutFinalizer(service: V1Service): string[] {
  return (service.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER);
}

export function publishedAddresses(service: V1Service): string[] {
  return (service.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
}

export function ourCondition(service: V1Service): V1Condition | undefined {
  return service.status?.conditions?.find((c) => c.type === CONDITION_TYPE);
}

export interface DesiredCondition {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/**
 * The status body to patch, or undefined when the Service already shows exactly this.
 * `ingress: undefined` leaves the published addresses as they are (a failure never takes
 * away an address that works); `null` clears them.
 */
export function statusChange(
  service: V1Service,
  ingress: Ingress[] | null | undefined,
  condition: DesiredCondition | null,
  now: Date,
): { loadBalancer: { ingress?: Ingress[] | null }; conditions: V1Condition[] | null } | undefined {
  const current = ourCondition(service);
  const others = (service.status?.conditions ?? []).filter((c) => c.type !== CONDITION_TYPE);
  const generation = service.metadata?.generation;
  let conditions: V1Condition[] | null = others;
  let conditionChanged = false;
  if (condition === null) {
    conditionChanged = current !== undefined;
  } else {
    const message = boundedMessage(condition.message);
    conditionChanged =
      current?.status !== condition.status ||
      current.reason !== condition.reason ||
      current.message !== message ||
      current.observedGeneration !== generation;
    const transitioned = current?.status !== condition.status;
    conditions = [
      ...others,
      {
        type: CONDITION_TYPE,
        status: condition.status,
        reason: condition.reason,
        message,
        lastTransitionTime: transitioned || !current ? now : current.lastTransitionTime,
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      },
    ];
  }
  if (conditions.length === 0) conditions = null;

  const published = service.status?.loadBalancer?.ingress ?? [];
  const ingressChanged =
    ingress === undefined
      ? false
      : ingress === null
        ? published.length > 0
        : !sameIngress(published, ingress);
  if (!conditionChanged && !ingressChanged) return undefined;
  return {
    loadBalancer: ingressChanged
      ? { ingress: ingress === null || ingress?.length === 0 ? null : ingress }
      : {},
    conditions,
  };
}

/** Condition messages stay readable (and far below the API's 32768 limit) whatever they gather. */
const MESSAGE_LIMIT = 4096;

function boundedMessage(text: string): string {
  return text.length <= MESSAGE_LIMIT ? text : `${text.slice(0, MESSAGE_LIMIT - 1)}…`;
}

function sameIngress(
  published: ReadonlyArray<{ ip?: string; hostname?: string; ipMode?: string }>,
  wanted: Ingress[],
): boolean {
  if (published.length !== wanted.length) return false;
  return published.every(
    (p, i) =>
      p.ip === wanted[i]!.ip &&
      p.hostname === wanted[i]!.hostname &&
      (p.ipMode ?? 'VIP') === (wanted[i]!.ipMode ?? 'VIP'),
  );
}
