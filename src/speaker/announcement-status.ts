// Pure: the L2Announcement object that shows users which node announces a Service's addresses, and the
// texts of the Events that go with it.
import type { ServiceFacts } from './cluster-facts.ts';

export const GROUP = 'sluice.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'l2announcements';
const KIND = 'L2Announcement';

/** One address of the Service: which node announces it, on which interfaces. */
export interface AddressStatus {
  address: string;
  /** '' when no node announces it (see `message`). */
  node: string;
  interfaces: string[];
  message?: string;
}

export interface AnnouncementStatus {
  /**
   * The announcing node; '' when none announces. Addresses are elected one by one, so a Service's
   * addresses may be announced from several nodes: then their names, comma-separated, in address order.
   */
  node: string;
  addresses: string[];
  /** Every interface carrying one of the addresses (on whichever node). */
  interfaces: string[];
  /** Why nothing (or not everything) is announced. */
  message?: string;
  /** Per address (written since the election became per address; absent from older objects). */
  byAddress?: AddressStatus[];
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
  const { node, addresses, interfaces, message, byAddress } = s as Record<string, unknown>;
  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const entries = Array.isArray(byAddress)
    ? byAddress.flatMap((e): AddressStatus[] => {
        if (typeof e !== 'object' || e === null) return [];
        const r = e as Record<string, unknown>;
        if (typeof r.address !== 'string') return [];
        const m = text(r.message);
        return [
          {
            address: r.address,
            node: text(r.node),
            interfaces: strings(r.interfaces),
            ...(m ? { message: m } : {}),
          },
        ];
      })
    : undefined;
  return {
    node: text(node),
    addresses: strings(addresses),
    interfaces: strings(interfaces),
    ...(typeof message === 'string' && message !== '' ? { message } : {}),
    ...(entries ? { byAddress: entries } : {}),
  };
}

/**
 * The whole status from each address's own: `node` lists the announcing nodes in address order,
 * `interfaces` is their union, `message` joins the addresses' messages.
 */
export function combineStatus(entries: readonly AddressStatus[]): AnnouncementStatus {
  const nodes = [...new Set(entries.map((e) => e.node).filter((n) => n !== ''))];
  const messages = [...new Set(entries.flatMap((e) => (e.message ? [e.message] : [])))];
  return {
    node: nodes.join(','),
    addresses: entries.map((e) => e.address),
    interfaces: [...new Set(entries.flatMap((e) => e.interfaces))].sort(),
    ...(messages.length > 0 ? { message: shorten(messages.join('; ')) } : {}),
    byAddress: entries.map((e) => ({ ...e, ...(e.message ? { message: shorten(e.message) } : {}) })),
  };
}

/** Whether `status` shows `node` announcing `address` on exactly `interfaces` (older objects: as a whole). */
export function showsAnnouncing(
  status: AnnouncementStatus | undefined,
  address: string,
  node: string,
  interfaces: readonly string[],
): boolean {
  if (!status) return false;
  if (status.byAddress) {
    const e = status.byAddress.find((x) => x.address === address);
    return e !== undefined && e.node === node && e.interfaces.join() === interfaces.join();
  }
  return (
    status.node === node &&
    status.addresses.includes(address) &&
    interfaces.every((i) => status.interfaces.includes(i))
  );
}

export function sameStatus(a: AnnouncementStatus | undefined, b: AnnouncementStatus | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.node === b.node &&
    (a.message ?? '') === (b.message ?? '') &&
    a.addresses.join(',') === b.addresses.join(',') &&
    a.interfaces.join(',') === b.interfaces.join(',') &&
    JSON.stringify(a.byAddress ?? null) === JSON.stringify(b.byAddress ?? null)
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
      ...(status.byAddress ? { byAddress: status.byAddress } : {}),
    },
  };
}

const MESSAGE_LIMIT = 1024;

/** Messages name nodes and reasons; a large cluster must not exceed the schema's limit. */
function shorten(message: string): string {
  return message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT - 3)}...` : message;
}

/** "announcing 192.0.2.5 from node worker-1 on eth0" */
export function nodeAssignedNote(status: AnnouncementStatus): string {
  const on = status.interfaces.length > 0 ? ` on ${status.interfaces.join(', ')}` : '';
  return `announcing ${status.addresses.join(', ')} from node ${status.node}${on}`;
}
