// Regional static addresses, EXTERNAL (from the simulator's external pool) or INTERNAL (from a
// subnet): insert, get, list, delete, setLabels. Reserving the IP that a forwarding rule already
// uses as an ephemeral IP promotes it (status IN_USE, users = the rules), as in Compute.
import { invalidField, ipSpaceExhausted, notFound, notSimulated, reject, requiredField } from '../errors.ts';
import { labelFingerprintOf } from '../fingerprint.ts';
import { parseIpv4, parseIpv4Cidr, rangeContains } from '../ip.ts';
import type { Json } from '../json.ts';
import { type ResourceRef, regionScope, resourcePath, scopeLink, selfLink } from '../links.ts';
import type { StoredResource } from '../store.ts';
import { checkLabels, checkName, checkReference, optionalEnum, optionalString } from '../validate.ts';
import {
  allocateExternalIp,
  allocateInternalIp,
  type Change,
  checkQuota,
  externalIpsInUse,
  internalIpsInUse,
  type World,
} from '../world.ts';
import { deleteChange, requireBody } from './common.ts';
import { networkRef, subnetworksOf } from './networks.ts';

const SERVER_FIELDS = [
  'kind',
  'id',
  'creationTimestamp',
  'selfLink',
  'region',
  'status',
  'users',
  'labelFingerprint',
];

export function addressRef(project: string, region: string, name: string): ResourceRef {
  return { project, scope: regionScope(region), collection: 'addresses', name };
}

/** The subnetwork of an internal resource: the one named, or the network's only one in the region. */
export function resolveSubnetwork(
  world: World,
  project: string,
  region: string,
  body: Json,
  field: string,
): StoredResource {
  if (body.subnetwork !== undefined) {
    const ref = checkReference(body.subnetwork, `resource.${field}`, project, 'subnetworks');
    if (ref.scope.kind !== 'region' || ref.scope.name !== region) {
      reject(
        invalidField(`resource.${field}`, body.subnetwork, `The subnetwork must be in region ${region}.`),
      );
    }
    return world.store.getRef(ref) ?? reject(notFound(resourcePath(ref)));
  }
  let network: StoredResource | undefined;
  if (body.network === undefined) {
    network = world.store.getRef(networkRef(project, 'default'));
    if (!network) reject(requiredField(`resource.${field}`));
  } else {
    const ref = checkReference(body.network, 'resource.network', project, 'networks');
    network = world.store.getRef(ref) ?? reject(notFound(resourcePath(ref)));
  }
  const subnets = subnetworksOf(world, network, region);
  if (subnets.length !== 1 || !subnets[0]) reject(requiredField(`resource.${field}`));
  return subnets[0];
}

function inExternalPool(world: World, ip: number): boolean {
  return world.externalRanges.some((range) => rangeContains(range, ip));
}

function forwardingRulesUsing(users: readonly StoredResource[]): StoredResource[] {
  return users.filter((user) => user.ref.collection === 'forwardingRules');
}

export function insertAddress(world: World, project: string, region: string, input: unknown): Change {
  const raw = requireBody(input);
  const ref = addressRef(project, region, checkName(raw.name, 'resource.name'));
  const id = world.ids.take();
  const creationTimestamp = world.now();
  const internal = raw.addressType === 'INTERNAL';
  const metric = internal ? 'INTERNAL_ADDRESSES' : 'STATIC_ADDRESSES';
  return {
    operationType: 'insert',
    target: ref,
    targetId: id,
    isInsert: true,
    quota: { metric, region },
    run(phase) {
      const body = structuredClone(raw);
      for (const key of SERVER_FIELDS) delete body[key];
      const type =
        optionalEnum(body, 'addressType', 'resource.addressType', ['EXTERNAL', 'INTERNAL'] as const) ??
        'EXTERNAL';
      body.addressType = type;
      const version = optionalString(body, 'ipVersion', 'resource.ipVersion');
      if (version !== undefined && version !== 'IPV4')
        reject(notSimulated(`ipVersion ${version} (IPv4 only)`));
      const labels = checkLabels(body.labels, 'resource.labels');
      const requested = optionalString(body, 'address', 'resource.address');
      const requestedNumber = requested === undefined ? undefined : parseIpv4(requested);
      if (requested !== undefined && requestedNumber === undefined) {
        reject(invalidField('resource.address', requested, 'Must be an IPv4 address.'));
      }
      if (body.labels !== undefined) body.labels = labels;
      let subnetwork: StoredResource | undefined;
      let inUseByRules: StoredResource[] = [];
      if (type === 'EXTERNAL') {
        for (const key of ['subnetwork', 'network', 'purpose']) {
          if (body[key] !== undefined)
            reject(invalidField(`resource.${key}`, body[key], 'Only INTERNAL addresses take this field.'));
        }
        body.networkTier =
          optionalEnum(body, 'networkTier', 'resource.networkTier', ['PREMIUM', 'STANDARD'] as const) ??
          'PREMIUM';
        if (requested !== undefined && requestedNumber !== undefined) {
          if (!inExternalPool(world, requestedNumber)) {
            reject(
              invalidField(
                'resource.address',
                requested,
                'The address is not in a range this project can reserve.',
              ),
            );
          }
          const users = externalIpsInUse(world).get(requested) ?? [];
          const conflict = users.find(
            (user) =>
              user.ref.collection === 'addresses' ||
              user.ref.project !== project ||
              user.ref.scope.kind !== 'region' ||
              user.ref.scope.name !== region,
          );
          if (conflict) {
            reject(
              invalidField(
                'resource.address',
                requested,
                'Specified IP address is in-use and would result in a conflict.',
              ),
            );
          }
          inUseByRules = forwardingRulesUsing(users);
        }
      } else {
        subnetwork = resolveSubnetwork(world, project, region, body, 'subnetwork');
        body.subnetwork = subnetwork.body.selfLink;
        body.network = subnetwork.body.network;
        body.purpose =
          optionalEnum(body, 'purpose', 'resource.purpose', [
            'GCE_ENDPOINT',
            'SHARED_LOADBALANCER_VIP',
          ] as const) ?? 'GCE_ENDPOINT';
        const tier = optionalString(body, 'networkTier', 'resource.networkTier');
        if (tier !== undefined && tier !== 'PREMIUM') {
          reject(invalidField('resource.networkTier', tier, 'An INTERNAL address has network tier PREMIUM.'));
        }
        body.networkTier = 'PREMIUM';
        if (requested !== undefined && requestedNumber !== undefined) {
          const range = parseIpv4Cidr(String(subnetwork.body.ipCidrRange));
          if (!range || !rangeContains(range, requestedNumber)) {
            reject(
              invalidField(
                'resource.address',
                requested,
                `The address is not in subnetwork '${subnetwork.path}'.`,
              ),
            );
          }
          const users = internalIpsInUse(world, subnetwork.path).get(requested) ?? [];
          if (users.some((user) => user.ref.collection !== 'forwardingRules')) {
            reject(
              invalidField(
                'resource.address',
                requested,
                'Specified IP address is in-use and would result in a conflict.',
              ),
            );
          }
          inUseByRules = users;
        }
      }
      checkQuota(world, project, metric, region, phase);
      if (phase !== 'commit') return;
      let ip = requested;
      if (ip === undefined) {
        ip = subnetwork ? allocateInternalIp(world, subnetwork) : allocateExternalIp(world);
        if (!ip) reject(ipSpaceExhausted(subnetwork ? subnetwork.path : 'the external address pool'));
      }
      const stored: Json = {
        kind: 'compute#address',
        id,
        creationTimestamp,
        ...body,
        address: ip,
        status: inUseByRules.length > 0 ? 'IN_USE' : 'RESERVED',
        labelFingerprint: labelFingerprintOf(labels),
        selfLink: selfLink(ref),
        region: scopeLink(project, ref.scope),
      };
      if (Object.keys(labels).length > 0) stored.labels = labels;
      else delete stored.labels;
      if (inUseByRules.length > 0) stored.users = inUseByRules.map((rule) => rule.body.selfLink);
      const path = resourcePath(ref);
      world.store.put({ ref, path, body: stored });
      for (const rule of inUseByRules) rule.addressPath = path;
    },
  };
}

export function deleteAddress(world: World, ref: ResourceRef): Change {
  return deleteChange(world, ref, 'address', ['forwardingRules']);
}

/** Called when a forwarding rule stops using an address. */
export function releaseAddress(world: World, addressPath: string, ruleLink: string): void {
  const address = world.store.get(addressPath);
  if (!address) return;
  const users = (Array.isArray(address.body.users) ? (address.body.users as string[]) : []).filter(
    (user) => user !== ruleLink,
  );
  if (users.length > 0) address.body.users = users;
  else {
    delete address.body.users;
    address.body.status = 'RESERVED';
  }
}

/** Called when a forwarding rule starts using an address. */
export function claimAddress(address: StoredResource, ruleLink: string): void {
  const users = Array.isArray(address.body.users) ? (address.body.users as string[]) : [];
  address.body.users = [...users, ruleLink];
  address.body.status = 'IN_USE';
}
