// Zonal unmanaged instance groups: insert, get, list, delete, addInstances, removeInstances,
// listInstances, setNamedPorts.
import {
  conditionNotMet,
  invalidField,
  memberAlreadyExists,
  memberNotFound,
  notFound,
  reject,
  requiredField,
} from '../errors.ts';
import { fingerprintOf } from '../fingerprint.ts';
import type { Json } from '../json.ts';
import { type ResourceRef, resourcePath, scopeLink, selfLink, zoneScope } from '../links.ts';
import type { StoredResource } from '../store.ts';
import {
  checkName,
  checkPort,
  checkReference,
  NAME_PATTERN,
  optionalObjectArray,
  optionalString,
} from '../validate.ts';
import { type Change, checkQuota, requireResource, type World } from '../world.ts';
import { checkOneLoadBalancedGroupPerInstance } from './backend-services.ts';
import { deleteChange, requireBody } from './common.ts';

const SERVER_FIELDS = [
  'kind',
  'id',
  'creationTimestamp',
  'selfLink',
  'zone',
  'region',
  'size',
  'fingerprint',
];

export function instanceGroupRef(project: string, zone: string, name: string): ResourceRef {
  return { project, scope: zoneScope(zone), collection: 'instanceGroups', name };
}

function readNamedPorts(body: Json, field: string): Json[] {
  const ports = optionalObjectArray(body, 'namedPorts', field) ?? [];
  return ports.map((port, index) => {
    const name = port.name;
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      reject(invalidField(`${field}[${index}].name`, name ?? '', 'A named port has an RFC 1035 name.'));
    }
    return { name, port: checkPort(port.port, `${field}[${index}].port`) };
  });
}

export function insertInstanceGroup(world: World, project: string, zone: string, input: unknown): Change {
  const raw = requireBody(input);
  const ref = instanceGroupRef(project, zone, checkName(raw.name, 'resource.name'));
  const region = world.topology.regionOfZone(zone);
  const id = world.ids.take();
  const creationTimestamp = world.now();
  return {
    operationType: 'insert',
    target: ref,
    targetId: id,
    isInsert: true,
    quota: { metric: 'INSTANCE_GROUPS', ...(region ? { region } : {}) },
    run(phase) {
      const body = structuredClone(raw);
      for (const key of SERVER_FIELDS) delete body[key];
      const namedPorts = readNamedPorts(body, 'resource.namedPorts');
      if (namedPorts.length > 0) body.namedPorts = namedPorts;
      else delete body.namedPorts;
      if (body.network !== undefined) {
        const networkRef = checkReference(body.network, 'resource.network', project, 'networks');
        const network = world.store.getRef(networkRef) ?? reject(notFound(resourcePath(networkRef)));
        body.network = network.body.selfLink;
      }
      if (body.subnetwork !== undefined) {
        const subnetRef = checkReference(body.subnetwork, 'resource.subnetwork', project, 'subnetworks');
        if (subnetRef.scope.kind !== 'region' || subnetRef.scope.name !== region) {
          reject(
            invalidField(
              'resource.subnetwork',
              body.subnetwork,
              `The subnetwork must be in region ${region}.`,
            ),
          );
        }
        const subnet = world.store.getRef(subnetRef) ?? reject(notFound(resourcePath(subnetRef)));
        if (body.network !== undefined && subnet.body.network !== body.network) {
          reject(
            invalidField(
              'resource.subnetwork',
              body.subnetwork,
              'The subnetwork is not in the network of the group.',
            ),
          );
        }
        body.subnetwork = subnet.body.selfLink;
        body.network = subnet.body.network;
      }
      checkQuota(world, project, 'INSTANCE_GROUPS', region, phase);
      if (phase !== 'commit') return;
      const stored: Json = {
        kind: 'compute#instanceGroup',
        id,
        creationTimestamp,
        ...body,
        fingerprint: fingerprintOf(namedPorts),
        selfLink: selfLink(ref),
        zone: scopeLink(project, ref.scope),
        size: 0,
      };
      world.store.put({ ref, path: resourcePath(ref), body: stored, members: [] });
    },
  };
}

export function deleteInstanceGroup(world: World, ref: ResourceRef): Change {
  return deleteChange(world, ref, 'instance_group', ['backendServices']);
}

function instanceLinks(world: World, group: StoredResource, input: Json): StoredResource[] {
  const entries = optionalObjectArray(input, 'instances', 'resource.instances') ?? [];
  if (entries.length === 0) reject(requiredField('resource.instances'));
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const field = `resource.instances[${index}].instance`;
    const ref = checkReference(entry.instance, field, group.ref.project, 'instances');
    if (
      ref.scope.kind !== 'zone' ||
      group.ref.scope.kind !== 'zone' ||
      ref.scope.name !== group.ref.scope.name
    ) {
      reject(
        invalidField(
          field,
          entry.instance,
          `The instance must be in zone ${group.ref.scope.kind === 'zone' ? group.ref.scope.name : ''}, the zone of the instance group.`,
        ),
      );
    }
    const instance = world.store.getRef(ref) ?? reject(notFound(resourcePath(ref)));
    if (seen.has(instance.path)) reject(invalidField(field, entry.instance, 'The instance is listed twice.'));
    seen.add(instance.path);
    return instance;
  });
}

function primaryNic(instance: StoredResource): Json {
  const nics = Array.isArray(instance.body.networkInterfaces)
    ? (instance.body.networkInterfaces as Json[])
    : [];
  return nics[0] ?? {};
}

function isLoadBalanced(world: World, group: StoredResource): boolean {
  return world.store
    .all()
    .some(
      (service) =>
        service.ref.collection === 'backendServices' &&
        ((service.body.backends as Json[] | undefined) ?? []).some(
          (backend) => backend.group === group.body.selfLink,
        ),
    );
}

export function addInstances(world: World, ref: ResourceRef, input: unknown): Change {
  const body = requireBody(input);
  const current = requireResource(world, ref);
  return {
    operationType: 'compute.instanceGroups.addInstances',
    target: ref,
    targetId: String(current.body.id),
    isInsert: false,
    run(phase) {
      const group = requireResource(world, ref);
      const instances = instanceLinks(world, group, body);
      let network = typeof group.body.network === 'string' ? group.body.network : undefined;
      let subnetwork = typeof group.body.subnetwork === 'string' ? group.body.subnetwork : undefined;
      for (const instance of instances) {
        const link = String(instance.body.selfLink);
        if ((group.members ?? []).includes(link)) reject(memberAlreadyExists(instance.path, group.path));
        const nic = primaryNic(instance);
        network ??= String(nic.network);
        subnetwork ??= String(nic.subnetwork);
        if (nic.network !== network || nic.subnetwork !== subnetwork) {
          reject(
            invalidField(
              'resource.instances',
              instance.path,
              `The instance is not in network '${network}' and subnetwork '${subnetwork}' of the instance group.`,
            ),
          );
        }
      }
      if (isLoadBalanced(world, group)) {
        const others = new Set<string>();
        for (const service of world.store.all()) {
          if (service.ref.collection !== 'backendServices') continue;
          for (const backend of (service.body.backends as Json[] | undefined) ?? []) {
            if (backend.group !== group.body.selfLink) others.add(String(backend.group));
          }
        }
        const adding = new Map([
          [String(group.body.selfLink), instances.map((instance) => String(instance.body.selfLink))],
        ]);
        checkOneLoadBalancedGroupPerInstance(world, [group], others, adding);
      }
      if (phase !== 'commit') return;
      group.members = [
        ...(group.members ?? []),
        ...instances.map((instance) => String(instance.body.selfLink)),
      ];
      group.body.size = group.members.length;
      if (network) group.body.network = network;
      if (subnetwork) group.body.subnetwork = subnetwork;
    },
  };
}

export function removeInstances(world: World, ref: ResourceRef, input: unknown): Change {
  const body = requireBody(input);
  const current = requireResource(world, ref);
  return {
    operationType: 'compute.instanceGroups.removeInstances',
    target: ref,
    targetId: String(current.body.id),
    isInsert: false,
    run(phase) {
      const group = requireResource(world, ref);
      const entries = optionalObjectArray(body, 'instances', 'resource.instances') ?? [];
      if (entries.length === 0) reject(requiredField('resource.instances'));
      const links = entries.map((entry, index) => {
        const instanceRef = checkReference(
          entry.instance,
          `resource.instances[${index}].instance`,
          ref.project,
          'instances',
        );
        const link = selfLink(instanceRef);
        if (!(group.members ?? []).includes(link))
          reject(memberNotFound(resourcePath(instanceRef), group.path));
        return link;
      });
      if (phase !== 'commit') return;
      group.members = (group.members ?? []).filter((member) => !links.includes(member));
      group.body.size = group.members.length;
    },
  };
}

export function setNamedPorts(world: World, ref: ResourceRef, input: unknown): Change {
  const body = requireBody(input);
  const current = requireResource(world, ref);
  return {
    operationType: 'compute.instanceGroups.setNamedPorts',
    target: ref,
    targetId: String(current.body.id),
    isInsert: false,
    run(phase) {
      const group = requireResource(world, ref);
      const fingerprint = optionalString(body, 'fingerprint', 'resource.fingerprint');
      if (fingerprint !== undefined && fingerprint !== group.body.fingerprint)
        reject(conditionNotMet('Invalid fingerprint.'));
      const namedPorts = readNamedPorts(body, 'resource.namedPorts');
      if (phase !== 'commit') return;
      if (namedPorts.length > 0) group.body.namedPorts = namedPorts;
      else delete group.body.namedPorts;
      group.body.fingerprint = fingerprintOf(namedPorts);
    },
  };
}

/** listInstances: the members with their status (instanceState RUNNING keeps only running ones). */
export function memberEntries(world: World, group: StoredResource, input: unknown): Json[] {
  const body = input === undefined ? {} : requireBody(input);
  const state = body.instanceState ?? 'ALL';
  if (state !== 'ALL' && state !== 'RUNNING') {
    reject(invalidField('resource.instanceState', state, 'Must be ALL or RUNNING.'));
  }
  const namedPorts = group.body.namedPorts;
  return (group.members ?? [])
    .map((link) => ({ link, instance: world.store.getLink(link) }))
    .filter(({ instance }) => state === 'ALL' || instance?.body.status === 'RUNNING')
    .map(({ link, instance }) => {
      const entry: Json = { instance: link, status: instance?.body.status ?? 'TERMINATED' };
      if (Array.isArray(namedPorts)) entry.namedPorts = namedPorts;
      return entry;
    });
}
