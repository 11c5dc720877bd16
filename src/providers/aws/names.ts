// Deterministic names and ownership tags for the AWS resources of one Service. Pure.
// Names come from cluster + Service UID (never from anything mutable but the properties that
// force a replacement), so a restart finds what it made and a replacement gets a new name.
import { createHash } from 'node:crypto';
import type { ServiceRef } from '../../intent/types.ts';
import {
  type HealthCheckProtocol,
  kubernetesClusterTag,
  type NlbProtocol,
  type Scheme,
  TAG,
  type TargetType,
} from './model.ts';

/** ELBv2 names: at most 32 characters, letters, digits and single hyphens. */
export const MAX_NAME_LENGTH = 32;

/** `sl-<namespace:8>-<name:8>-<hash:10>`: readable in the console, unique by the hash. */
function readableName(service: ServiceRef, hashInput: ReadonlyArray<string | number>): string {
  const part = (text: string): string => text.replace(/[^A-Za-z0-9]/g, '').slice(0, 8);
  const hash = createHash('sha256').update(hashInput.join('\0')).digest('hex').slice(0, 10);
  return ['sl', part(service.namespace), part(service.name), hash].filter((p) => p !== '').join('-');
}

/** The NLB's name; the scheme is part of it because changing the scheme means a new load balancer. */
export function loadBalancerName(cluster: string, service: ServiceRef, scheme: Scheme): string {
  return readableName(service, ['lb', cluster, service.uid, scheme]);
}

/**
 * What makes a target group: any change of these needs a new one (ELBv2 cannot change them in place).
 * The load balancer is part of it because an NLB target group serves one load balancer only: a
 * replacement NLB gets groups of its own and serves before the old one goes.
 */
export interface TargetGroupIdentity {
  loadBalancer: string;
  servicePort: number;
  serviceProtocol: string;
  /** NodePort (instance targets) or the Pods' port (ip targets). */
  port: number;
  protocol: NlbProtocol;
  targetType: TargetType;
  healthCheckProtocol: HealthCheckProtocol;
  ipAddressType: 'ipv4' | 'ipv6';
  vpcId: string;
}

export function targetGroupName(cluster: string, service: ServiceRef, identity: TargetGroupIdentity): string {
  return readableName(service, [
    'tg',
    cluster,
    service.uid,
    identity.loadBalancer,
    identity.servicePort,
    identity.serviceProtocol,
    identity.port,
    identity.protocol,
    identity.targetType,
    identity.healthCheckProtocol,
    identity.ipAddressType,
    identity.vpcId,
  ]);
}

/** The managed frontend security group of the Service's NLB. */
export function securityGroupName(cluster: string, service: ServiceRef): string {
  return readableName(service, ['sg', cluster, service.uid]);
}

/** A listener created in the same plan as its load balancer, before it has an ARN. */
export function listenerRefName(loadBalancer: string, port: number): string {
  return `${loadBalancer}:${port}`;
}

/** Owner descriptions of the rules on the nodes' security group (as in the Kubernetes docs' NLB table). */
export function nodeRuleDescription(kind: 'client' | 'health' | 'mtu', loadBalancer: string): string {
  return `kubernetes.io/rule/nlb/${kind}=${loadBalancer}`;
}

/** Descriptions of the rules in Sluice's own frontend group. */
export function frontendRuleDescription(kind: 'client' | 'mtu', loadBalancer: string): string {
  return `sluice.dev/rule/${kind}=${loadBalancer}`;
}

/** Every resource Sluice creates for a Service carries these; found again by them after a restart. */
export function ownershipTags(
  cluster: string,
  service: ServiceRef,
  resource: string,
  additional: Record<string, string> = {},
): Record<string, string> {
  return {
    ...additional,
    [TAG.cluster]: cluster,
    [TAG.service]: `${service.namespace}/${service.name}`,
    [TAG.serviceUid]: service.uid,
    [TAG.resource]: resource,
    [kubernetesClusterTag(cluster)]: 'owned',
  };
}

/** True when the tags say Sluice made this for this cluster (and, if given, this Service). */
export function isOwned(tags: Record<string, string>, cluster: string, serviceUid?: string): boolean {
  if (tags[TAG.cluster] !== cluster) return false;
  return serviceUid === undefined || tags[TAG.serviceUid] === serviceUid;
}
