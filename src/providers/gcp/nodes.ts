// Which Compute Engine instances back the cluster's nodes: from each Node's providerID
// (gce://<project>/<zone>/<instance>, set by the GCP cloud controller / GKE). Pure.
import type { TargetNode } from '../../intent/types.ts';
import { urls } from './names.ts';

const PROVIDER_ID = /^gce:\/\/([^/]+)\/([^/]+)\/([^/]+)$/;

export interface NodeInstances {
  /** Zone → instance URLs (projects/P/zones/Z/instances/N), sorted. */
  byZone: Record<string, string[]>;
  /** Nodes that cannot be load-balanced here, with why. */
  skipped: string[];
}

export function nodeInstances(nodes: ReadonlyArray<TargetNode>, project: string): NodeInstances {
  const byZone: Record<string, string[]> = {};
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
    byZone[zone] = [...(byZone[zone] ?? []), urls.instance(project, zone, instance)];
  }
  for (const list of Object.values(byZone)) list.sort();
  return { byZone, skipped };
}
