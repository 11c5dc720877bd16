// Which Compute Engine instances back the cluster's nodes: from each Node's providerID
// (gce://<project>/<zone>/<instance>, set by the GCP cloud controller / GKE). Pure.
import type { TargetNode } from '../../intent/types.ts';
import { urls } from './names.ts';

const PROVIDER_ID = /^gce:\/\/([^/]+)\/([^/]+)\/([^/]+)$/;

export interface NodeInstances {
  /** Zone → instance URLs (projects/P/zones/Z/instances/N), sorted, each once. */
  byZone: Record<string, string[]>;
  /** Nodes that cannot be load-balanced here, with why ("name: why"), in the nodes' order. */
  skipped: string[];
}

/**
 * Nodes → instances by zone. Nodes of another project, or without a gce:// providerID, are skipped;
 * with `region`, so are nodes in a zone of another region (a regional backend service cannot use a
 * group there; zones are named <region>-<letter>).
 */
export function nodeInstances(
  nodes: ReadonlyArray<TargetNode>,
  project: string,
  region?: string,
): NodeInstances {
  const byZone: Record<string, Set<string>> = {};
  const skipped: string[] = [];
  for (const node of nodes) {
    const match = PROVIDER_ID.exec(node.providerID ?? '');
    if (!match) {
      skipped.push(
        `${node.name}: providerID "${node.providerID ?? ''}" is not gce://<project>/<zone>/<instance>`,
      );
      continue;
    }
    const [, nodeProject, zone, instance] = match as unknown as [string, string, string, string];
    if (nodeProject !== project) {
      skipped.push(`${node.name}: its instance is in project ${nodeProject}, not ${project}`);
      continue;
    }
    if (region !== undefined && !zone.startsWith(`${region}-`)) {
      skipped.push(`${node.name}: its zone ${zone} is not in region ${region}`);
      continue;
    }
    let zoneSet = byZone[zone];
    if (zoneSet === undefined) {
      zoneSet = new Set();
      byZone[zone] = zoneSet;
    }
    zoneSet.add(urls.instance(project, zone, instance));
  }
  const result: Record<string, string[]> = {};
  for (const zone of Object.keys(byZone).sort()) result[zone] = [...(byZone[zone] ?? [])].sort();
  return { byZone: result, skipped };
}
