// Pure: the L2Announcement object that shows users which node announces a Service's addresses, and the
// texts of the Events that go with it.
import type { ServiceFacts } from './cluster-facts.ts';

export const GROUP = 'sluice.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'l2announcements';
export const KIND = 'L2Announcement';

export interface AnnouncementStatus {
  /** The announcing node; '' when none announces. */
  node: string;
  addresses: string[];
  interfaces: string[];
  /** Why nothing (or not everything) is announced. */
  message?: string;
}

export interface L2AnnouncementObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
    ownerReferences?: Array<{
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
    }>;
  };
  status?: unknown;
}

/** The status an L2Announcement carries, read leniently (someone may have edited it by hand). */
export function statusOf(obj: L2AnnouncementObject | undefined): AnnouncementStatus | undefined {
  const s = obj?.status;
  if (typeof s !== 'object' || s === null) return undefined;
  const { node, addresses, interfaces, message } = s as Record<string, unknown>;
  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  return {
    node: typeof node === 'string' ? node : '',
    addresses: strings(addresses),
    interfaces: strings(interfaces),
    ...(typeof message === 'string' && message !== '' ? { message } : {}),
  };
}

export function sameStatus(a: AnnouncementStatus | undefined, b: AnnouncementStatus | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.node === b.node &&
    (a.message ?? '') === (b.message ?? '') &&
    a.addresses.join(',') === b.addresses.join(',') &&
    a.interfaces.join(',') === b.interfaces.join(',')
  );
}

/** Whether the object belongs to this very Service (not an earlier one of the same name). */
export function ownedBy(obj: L2AnnouncementObject | undefined, service: ServiceFacts): boolean {
  return (obj?.metadata?.ownerReferences ?? []).some((r) => r.kind === 'Service' && r.uid === service.uid);
}

/** The whole object to create, or to replace `existing` with (its resourceVersion guards the write). */
export function announcementBody(
  service: ServiceFacts,
  status: AnnouncementStatus,
  existing: L2AnnouncementObject | undefined,
): L2AnnouncementObject {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KIND,
    metadata: {
      ...existing?.metadata,
      name: service.name,
      namespace: service.namespace,
      labels: { ...existing?.metadata?.labels, 'app.kubernetes.io/managed-by': 'sluice' },
      // The garbage collector removes the announcement with its Service.
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Service', name: service.name, uid: service.uid, controller: true },
      ],
    },
    status: {
      node: status.node,
      addresses: status.addresses,
      interfaces: status.interfaces,
      ...(status.message ? { message: shorten(status.message) } : {}),
    },
  };
}

const MESSAGE_LIMIT = 1024;

/** Messages name nodes and reasons; a large cluster must not exceed the schema's limit. */
export function shorten(message: string): string {
  return message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT - 3)}...` : message;
}

/** "announcing 192.0.2.5 from node worker-1 on eth0" */
export function nodeAssignedNote(status: AnnouncementStatus): string {
  const on = status.interfaces.length > 0 ? ` on ${status.interfaces.join(', ')}` : '';
  return `announcing ${status.addresses.join(', ')} from node ${status.node}${on}`;
}
