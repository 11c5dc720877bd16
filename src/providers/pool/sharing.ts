// What the allocator knows of a Service, and MetalLB's rules for two Services holding one address
// (allocator.checkSharing / sharingOK). Pure.

export type PortProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface SharingFacts {
  /** metallb.io/allow-shared-ip or sluice.dev/sharing-key; never empty. */
  key: string;
  /** Namespaces this Service agrees to share with besides its own; '*' = any. */
  crossNamespace: string[];
  ports: Array<{ protocol: PortProtocol; port: number }>;
  /** '' for externalTrafficPolicy Cluster; canonical selector text (selectorText) for Local. */
  backendKey: string;
}

export interface ServiceFacts {
  /** "namespace/name", the owner id. */
  key: string;
  namespace: string;
  labels: Record<string, string>;
  /** Labels of the Service's Namespace ({} if unknown). */
  namespaceLabels: Record<string, string>;
  sharing?: SharingFacts;
}

export type SharingRefusal = { reason: 'AddressInUse' | 'SharingConflict'; message: string };

/**
 * Why `candidate` may not hold `address` together with `holder`, or undefined when it may. Rules: both carry
 * equal sharing keys; if their namespaces differ each agrees to share with the other's namespace; the same
 * backends (backendKey); no (protocol, port) in common. The message is shown to `candidate`'s owner, so it never
 * names a Service of another namespace, nor another Service's sharing key.
 */
export function sharingRefusal(
  candidate: ServiceFacts,
  holder: ServiceFacts,
  address: string,
): SharingRefusal | undefined {
  const sameNamespace = candidate.namespace === holder.namespace;
  const holderText = sameNamespace ? `Service ${nameOf(holder.key)}` : 'a Service in another namespace';
  const mine = candidate.sharing;
  const theirs = holder.sharing;
  if (mine === undefined || theirs === undefined) {
    const hint =
      mine === undefined && theirs !== undefined
        ? ' (to share it, give this Service the same sharing key)'
        : '';
    return { reason: 'AddressInUse', message: `${address} is already assigned to ${holderText}${hint}` };
  }
  if (!sameNamespace) {
    const agreed = agrees(mine, holder.namespace) && agrees(theirs, candidate.namespace);
    if (!agreed) {
      return {
        reason: 'SharingConflict',
        message:
          `${address} is held by a Service in another namespace; sharing across namespaces needs both Services ` +
          `to list each other's namespace (or '*') in sluice.dev/sharing-cross-namespace`,
      };
    }
  }
  if (mine.key !== theirs.key) {
    return {
      reason: 'SharingConflict',
      message: `${address} is held by ${holderText} with a different sharing key`,
    };
  }
  if (mine.backendKey !== theirs.backendKey) {
    return {
      reason: 'SharingConflict',
      message:
        `${address} is held by ${holderText} with other backends: Services sharing an address must have the same ` +
        `externalTrafficPolicy and, for Local, the same spec.selector`,
    };
  }
  for (const port of mine.ports) {
    if (theirs.ports.some((p) => p.protocol === port.protocol && p.port === port.port)) {
      return {
        reason: 'SharingConflict',
        message: `port ${port.protocol}/${port.port} is already used on ${address} by ${holderText}`,
      };
    }
  }
  return undefined;
}

function agrees(facts: SharingFacts, namespace: string): boolean {
  return facts.crossNamespace.includes('*') || facts.crossNamespace.includes(namespace);
}

function nameOf(key: string): string {
  return key.slice(key.indexOf('/') + 1);
}
