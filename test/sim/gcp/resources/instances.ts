// VM instances: read-only through the Compute API (get, list, aggregatedList), created and removed
// by tests, as a cluster's nodes come and go. Removing one takes it out of its instance groups, as
// deleting a VM does in Compute.
import { fingerprintOf, labelFingerprintOf } from '../fingerprint.ts';
import { parseIpv4, parseIpv4Cidr, rangeContains } from '../ip.ts';
import type { Json } from '../json.ts';
import { type ResourceRef, resourcePath, scopeLink, selfLink, zoneScope } from '../links.ts';
import type { StoredResource } from '../store.ts';
import { NAME_PATTERN } from '../validate.ts';
import { allocateInternalIp, internalIpsInUse, type World } from '../world.ts';
import { networkRef, subnetworksOf } from './networks.ts';

export const INSTANCE_STATUSES = [
  'PROVISIONING',
  'STAGING',
  'RUNNING',
  'STOPPING',
  'STOPPED',
  'SUSPENDING',
  'SUSPENDED',
  'REPAIRING',
  'TERMINATED',
] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export interface InstanceSeed {
  zone: string;
  name: string;
  /** Network name; default "default". */
  network?: string;
  /** Subnetwork name in the zone's region; default: the network's only subnet there. */
  subnetwork?: string;
  /** Primary internal IP; default: the next free address of the subnet. */
  networkIP?: string;
  /** Network tags (what firewall targetTags match). */
  tags?: string[];
  labels?: Record<string, string>;
  /** Service account emails (what firewall targetServiceAccounts match). */
  serviceAccounts?: string[];
  /** Default RUNNING. */
  status?: InstanceStatus;
}

function seedProblem(what: string, why: string): Error {
  return new Error(`gcp-sim seed: ${what} ${why}`);
}

export function instanceRef(project: string, zone: string, name: string): ResourceRef {
  return { project, scope: zoneScope(zone), collection: 'instances', name };
}

export function seedInstance(world: World, project: string, seed: InstanceSeed): StoredResource {
  const region = world.topology.regionOfZone(seed.zone);
  if (!region) throw seedProblem(`zone '${seed.zone}'`, 'is not served');
  if (!NAME_PATTERN.test(seed.name))
    throw seedProblem(`instance name '${seed.name}'`, 'is not an RFC 1035 name');
  const ref = instanceRef(project, seed.zone, seed.name);
  if (world.store.getRef(ref)) throw seedProblem(`instance ${resourcePath(ref)}`, 'exists already');
  const network = world.store.getRef(networkRef(project, seed.network ?? 'default'));
  if (!network)
    throw seedProblem(`network '${seed.network ?? 'default'}' of project ${project}`, 'does not exist');
  const candidates = subnetworksOf(world, network, region).filter(
    (subnet) => !seed.subnetwork || subnet.ref.name === seed.subnetwork,
  );
  const subnetwork = candidates[0];
  if (!subnetwork || (!seed.subnetwork && candidates.length > 1)) {
    throw seedProblem(
      `instance ${seed.name}`,
      seed.subnetwork
        ? `names subnetwork '${seed.subnetwork}', which network ${network.ref.name} lacks in ${region}`
        : `needs a subnetwork: network ${network.ref.name} has ${candidates.length} in ${region}`,
    );
  }
  let networkIP = seed.networkIP;
  if (networkIP === undefined) {
    networkIP = allocateInternalIp(world, subnetwork);
    if (!networkIP) throw seedProblem(`subnetwork ${subnetwork.path}`, 'has no free address');
  } else {
    const address = parseIpv4(networkIP);
    const range = parseIpv4Cidr(String(subnetwork.body.ipCidrRange));
    if (address === undefined || !range || !rangeContains(range, address)) {
      throw seedProblem(
        `networkIP ${networkIP}`,
        `is not in ${subnetwork.path} (${String(subnetwork.body.ipCidrRange)})`,
      );
    }
    const users = internalIpsInUse(world, subnetwork.path).get(networkIP);
    if (users?.[0]) throw seedProblem(`networkIP ${networkIP}`, `is used by ${users[0].path}`);
  }
  const status = seed.status ?? 'RUNNING';
  if (!INSTANCE_STATUSES.includes(status))
    throw seedProblem(`status '${status}'`, 'is not an instance status');
  const tags = seed.tags ?? [];
  const labels = seed.labels ?? {};
  const zoneLink = scopeLink(project, zoneScope(seed.zone));
  const nic: Json = {
    kind: 'compute#networkInterface',
    name: 'nic0',
    network: network.body.selfLink,
    subnetwork: subnetwork.body.selfLink,
    networkIP,
    stackType: 'IPV4_ONLY',
  };
  nic.fingerprint = fingerprintOf(nic);
  const body: Json = {
    kind: 'compute#instance',
    id: world.ids.take(),
    creationTimestamp: world.now(),
    name: seed.name,
    zone: zoneLink,
    machineType: `${zoneLink}/machineTypes/e2-standard-2`,
    status,
    canIpForward: false,
    deletionProtection: false,
    networkInterfaces: [nic],
    tags:
      tags.length > 0
        ? { items: [...tags], fingerprint: fingerprintOf(tags) }
        : { fingerprint: fingerprintOf([]) },
    labelFingerprint: labelFingerprintOf(labels),
    serviceAccounts: (seed.serviceAccounts ?? []).map((email) => ({
      email,
      scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    })),
    selfLink: selfLink(ref),
  };
  if (Object.keys(labels).length > 0) body.labels = { ...labels };
  const resource: StoredResource = { ref, path: resourcePath(ref), body };
  world.store.put(resource);
  return resource;
}

/** Deletes an instance and takes it out of every instance group. False when there was none. */
export function removeInstance(world: World, project: string, zone: string, name: string): boolean {
  const instance = world.store.getRef(instanceRef(project, zone, name));
  if (!instance) return false;
  world.store.delete(instance.path);
  for (const group of world.store.list(project, 'instanceGroups', zoneScope(zone))) {
    const members = group.members ?? [];
    if (members.includes(String(instance.body.selfLink))) {
      group.members = members.filter((member) => member !== instance.body.selfLink);
      group.body.size = group.members.length;
    }
  }
  return true;
}

export function setInstanceStatus(
  world: World,
  project: string,
  zone: string,
  name: string,
  status: InstanceStatus,
): void {
  const instance = world.store.getRef(instanceRef(project, zone, name));
  if (!instance)
    throw seedProblem(`instance ${resourcePath(instanceRef(project, zone, name))}`, 'does not exist');
  if (!INSTANCE_STATUSES.includes(status))
    throw seedProblem(`status '${status}'`, 'is not an instance status');
  instance.body.status = status;
}
