// VPC networks and subnetworks: read-only through the Compute API, created by tests (seed helpers)
// and, unless disabled, an auto-mode-like "default" network with a "default" subnet per region.

import { fingerprintOf } from '../fingerprint.ts';
import { parseIpv4Cidr } from '../ip.ts';
import type { Json } from '../json.ts';
import {
  GLOBAL,
  lastSegment,
  parseReference,
  type ResourceRef,
  regionScope,
  resourcePath,
  scopeLink,
  selfLink,
} from '../links.ts';
import type { StoredResource } from '../store.ts';
import { defaultSubnetRange } from '../topology.ts';
import { NAME_PATTERN } from '../validate.ts';
import type { World } from '../world.ts';

export interface NetworkSeed {
  name: string;
  /** Default false: a custom-mode network. */
  autoCreateSubnetworks?: boolean;
  mtu?: number;
  description?: string;
}

export interface SubnetworkSeed {
  name: string;
  region: string;
  /** Network name or URL. */
  network: string;
  /** IPv4 CIDR, e.g. 10.10.0.0/20. */
  ipCidrRange: string;
  description?: string;
}

function seedProblem(what: string, why: string): Error {
  return new Error(`gcp-sim seed: ${what} ${why}`);
}

export function networkRef(project: string, name: string): ResourceRef {
  return { project, scope: GLOBAL, collection: 'networks', name };
}

export function seedNetwork(world: World, project: string, seed: NetworkSeed): StoredResource {
  if (!NAME_PATTERN.test(seed.name))
    throw seedProblem(`network name '${seed.name}'`, 'is not an RFC 1035 name');
  const ref = networkRef(project, seed.name);
  if (world.store.getRef(ref)) throw seedProblem(`network ${resourcePath(ref)}`, 'exists already');
  const mtu = seed.mtu ?? 1460;
  if (!Number.isInteger(mtu) || mtu < 1300 || mtu > 8896)
    throw seedProblem(`network mtu ${mtu}`, 'is out of range');
  const id = world.ids.take();
  const body: Json = {
    kind: 'compute#network',
    id,
    creationTimestamp: world.now(),
    name: seed.name,
    selfLink: selfLink(ref),
    selfLinkWithId: `${scopeLink(project, GLOBAL)}/networks/${id}`,
    autoCreateSubnetworks: seed.autoCreateSubnetworks ?? false,
    routingConfig: { routingMode: 'REGIONAL' },
    mtu,
    networkFirewallPolicyEnforcementOrder: 'AFTER_CLASSIC_FIREWALL',
  };
  if (seed.description) body.description = seed.description;
  const resource: StoredResource = { ref, path: resourcePath(ref), body };
  world.store.put(resource);
  return resource;
}

export function seedSubnetwork(world: World, project: string, seed: SubnetworkSeed): StoredResource {
  if (!NAME_PATTERN.test(seed.name))
    throw seedProblem(`subnetwork name '${seed.name}'`, 'is not an RFC 1035 name');
  if (!world.topology.hasRegion(seed.region)) throw seedProblem(`region '${seed.region}'`, 'is not served');
  const networkRefValue = seed.network.includes('/')
    ? parseReference(seed.network, project)
    : networkRef(project, seed.network);
  if (networkRefValue?.collection !== 'networks') {
    throw seedProblem(`network '${seed.network}'`, 'is not a network name or URL');
  }
  const network = world.store.getRef(networkRefValue);
  if (!network)
    throw seedProblem(`network ${resourcePath(networkRefValue)}`, 'does not exist (seed it first)');
  const range = parseIpv4Cidr(seed.ipCidrRange);
  if (!range || range.size < 8) {
    throw seedProblem(`ipCidrRange '${seed.ipCidrRange}'`, 'is not an IPv4 network CIDR of /29 or larger');
  }
  const ref: ResourceRef = {
    project,
    scope: regionScope(seed.region),
    collection: 'subnetworks',
    name: seed.name,
  };
  if (world.store.getRef(ref)) throw seedProblem(`subnetwork ${resourcePath(ref)}`, 'exists already');
  for (const other of subnetworksOf(world, network)) {
    const otherRange = parseIpv4Cidr(String(other.body.ipCidrRange));
    if (
      otherRange &&
      range.first < otherRange.first + otherRange.size &&
      otherRange.first < range.first + range.size
    ) {
      throw seedProblem(`ipCidrRange ${seed.ipCidrRange}`, `overlaps ${other.path} (${otherRange.text})`);
    }
  }
  const gateway = range.first + 1;
  const body: Json = {
    kind: 'compute#subnetwork',
    id: world.ids.take(),
    creationTimestamp: world.now(),
    name: seed.name,
    network: network.body.selfLink,
    ipCidrRange: seed.ipCidrRange,
    gatewayAddress: [gateway >>> 24, (gateway >>> 16) & 255, (gateway >>> 8) & 255, gateway & 255].join('.'),
    region: scopeLink(project, regionScope(seed.region)),
    selfLink: selfLink(ref),
    privateIpGoogleAccess: false,
    stackType: 'IPV4_ONLY',
    purpose: 'PRIVATE',
  };
  if (seed.description) body.description = seed.description;
  body.fingerprint = fingerprintOf(body);
  const resource: StoredResource = { ref, path: resourcePath(ref), body };
  world.store.put(resource);
  network.body.subnetworks = [
    ...(Array.isArray(network.body.subnetworks) ? network.body.subnetworks : []),
    body.selfLink,
  ];
  return resource;
}

export function subnetworksOf(world: World, network: StoredResource, region?: string): StoredResource[] {
  return world.store
    .list(network.ref.project, 'subnetworks')
    .filter(
      (subnet) =>
        subnet.body.network === network.body.selfLink &&
        (!region || lastSegment(String(subnet.body.region)) === region),
    );
}

/** The network "default" with a subnet "default" in every region, like a new project's. */
export function seedDefaultNetwork(world: World, project: string): void {
  seedNetwork(world, project, {
    name: 'default',
    autoCreateSubnetworks: true,
    description: 'Default network for the project',
  });
  world.topology.regionNames().forEach((region, index) => {
    seedSubnetwork(world, project, {
      name: 'default',
      region,
      network: 'default',
      ipCidrRange: defaultSubnetRange(region, index),
    });
  });
}
