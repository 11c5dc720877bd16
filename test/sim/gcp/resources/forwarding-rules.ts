// Regional forwarding rules of passthrough load balancers (backend-service based): insert, get,
// list, delete, setLabels.
//
// The IP: an address URL or an IP literal of a reserved address (static: it survives the rule), an
// internal literal inside the subnet, or nothing (ephemeral, allocated when the operation is DONE and
// released with the rule). Several rules may share a reserved address when their protocol/ports do
// not overlap (internal ones only with purpose SHARED_LOADBALANCER_VIP, at most 10); conflicts show
// as IP_IN_USE_BY_ANOTHER_RESOURCE in the operation, as in Compute.
import {
  conditionNotMet,
  invalidField,
  ipInUse,
  ipSpaceExhausted,
  notFound,
  notSimulated,
  reject,
  requiredField,
} from '../errors.ts';
import { fingerprintOf, labelFingerprintOf } from '../fingerprint.ts';
import { parseIpv4, parseIpv4Cidr, rangeContains } from '../ip.ts';
import type { Json } from '../json.ts';
import { type ResourceRef, regionScope, resourcePath, scopeLink, selfLink } from '../links.ts';
import type { StoredResource } from '../store.ts';
import {
  checkLabels,
  checkName,
  checkPort,
  checkReference,
  optionalBoolean,
  optionalEnum,
  optionalString,
  optionalStringArray,
} from '../validate.ts';
import {
  allocateExternalIp,
  allocateInternalIp,
  type Change,
  checkQuota,
  externalIpsInUse,
  internalIpsInUse,
  requireResource,
  type World,
} from '../world.ts';
import { claimAddress, releaseAddress, resolveSubnetwork } from './addresses.ts';
import { forwardingProtocolFor } from './backend-services.ts';
import { requireBody } from './common.ts';

const SERVER_FIELDS = [
  'kind',
  'id',
  'creationTimestamp',
  'selfLink',
  'selfLinkWithId',
  'region',
  'fingerprint',
  'labelFingerprint',
  'pscConnectionId',
  'pscConnectionStatus',
  'baseForwardingRule',
];
const MAX_PORTS = 5;
const MAX_RULES_PER_SHARED_VIP = 10;

export function forwardingRuleRef(project: string, region: string, name: string): ResourceRef {
  return { project, scope: regionScope(region), collection: 'forwardingRules', name };
}

type PortSet = { all: true } | { all: false; ranges: Array<[number, number]> };

function portSetOf(rule: Json): PortSet {
  if (rule.allPorts === true) return { all: true };
  if (Array.isArray(rule.ports)) {
    return { all: false, ranges: rule.ports.map((port) => [Number(port), Number(port)] as [number, number]) };
  }
  if (typeof rule.portRange === 'string') {
    const [low, high] = rule.portRange.split('-').map(Number);
    return { all: false, ranges: [[low ?? 0, high ?? low ?? 0]] };
  }
  return { all: true };
}

function overlap(a: Json, b: Json): boolean {
  if (a.IPProtocol !== b.IPProtocol) return false;
  const portsA = portSetOf(a);
  const portsB = portSetOf(b);
  if (portsA.all || portsB.all) return true;
  return portsA.ranges.some(([lowA, highA]) =>
    portsB.ranges.some(([lowB, highB]) => lowA <= highB && lowB <= highA),
  );
}

/** ports / portRange / allPorts: exactly one way of saying which ports, filled in like Compute. */
function normalizePorts(body: Json, scheme: string, protocol: string): void {
  const ports = optionalStringArray(body, 'ports', 'resource.ports') ?? [];
  const portRange = optionalString(body, 'portRange', 'resource.portRange');
  const allPorts = optionalBoolean(body, 'allPorts', 'resource.allPorts') ?? false;
  const given = [ports.length > 0, portRange !== undefined, allPorts].filter(Boolean).length;
  if (given > 1) {
    reject(
      invalidField('resource.ports', ports.join(','), 'Specify only one of ports, portRange and allPorts.'),
    );
  }
  delete body.ports;
  delete body.portRange;
  delete body.allPorts;
  if (protocol === 'L3_DEFAULT' && !allPorts) {
    reject(invalidField('resource.allPorts', allPorts, 'IPProtocol L3_DEFAULT requires allPorts.'));
  }
  if (ports.length > 0) {
    if (ports.length > MAX_PORTS) {
      reject(
        invalidField(
          'resource.ports',
          ports.join(','),
          `A forwarding rule lists at most ${MAX_PORTS} ports; use allPorts for more.`,
        ),
      );
    }
    const numbers = ports.map((port, index) => checkPort(port, `resource.ports[${index}]`));
    if (new Set(numbers).size !== numbers.length) {
      reject(invalidField('resource.ports', ports.join(','), 'A port is listed twice.'));
    }
    body.ports = numbers.map(String);
  } else if (portRange !== undefined) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(portRange);
    const low = match ? checkPort(match[1], 'resource.portRange') : 0;
    const high = match?.[2] ? checkPort(match[2], 'resource.portRange') : low;
    if (!match || high < low)
      reject(invalidField('resource.portRange', portRange, "Must be 'port' or 'low-high'."));
    body.portRange = `${low}-${high}`;
  } else if (allPorts) {
    body.allPorts = true;
  } else if (scheme === 'INTERNAL') {
    reject(invalidField('resource.ports', '', 'An INTERNAL forwarding rule needs ports or allPorts.'));
  } else {
    body.portRange = '1-65535';
  }
}

type IpChoice =
  | { kind: 'ephemeral' }
  | { kind: 'literal'; ip: string }
  | { kind: 'address'; address: StoredResource };

function chooseIp(
  world: World,
  ref: ResourceRef,
  body: Json,
  scheme: string,
  tier: string,
  subnetwork: StoredResource | undefined,
): IpChoice {
  const region = ref.scope.kind === 'region' ? ref.scope.name : '';
  const value = optionalString(body, 'IPAddress', 'resource.IPAddress');
  if (value === undefined || value === '') return { kind: 'ephemeral' };
  let address: StoredResource | undefined;
  if (value.includes('/')) {
    const addressRefValue = checkReference(value, 'resource.IPAddress', ref.project, 'addresses');
    if (addressRefValue.scope.kind !== 'region' || addressRefValue.scope.name !== region) {
      reject(invalidField('resource.IPAddress', value, `The address must be in region ${region}.`));
    }
    address = world.store.getRef(addressRefValue) ?? reject(notFound(resourcePath(addressRefValue)));
  } else {
    const number = parseIpv4(value);
    if (number === undefined)
      reject(invalidField('resource.IPAddress', value, 'Must be an IPv4 address or an address URL.'));
    address = world.store
      .list(ref.project, 'addresses', ref.scope)
      .find((candidate) => candidate.body.address === value && candidate.body.addressType === scheme);
    if (!address) {
      if (scheme === 'EXTERNAL') {
        reject(
          invalidField(
            'resource.IPAddress',
            value,
            'An external IP must be a static address reserved in this project and region.',
          ),
        );
      }
      const range = subnetwork ? parseIpv4Cidr(String(subnetwork.body.ipCidrRange)) : undefined;
      if (!range || !rangeContains(range, number)) {
        reject(
          invalidField(
            'resource.IPAddress',
            value,
            `The IP is not in subnetwork '${subnetwork?.path ?? ''}'.`,
          ),
        );
      }
      return { kind: 'literal', ip: value };
    }
  }
  if (address.body.addressType !== scheme) {
    reject(
      invalidField(
        'resource.IPAddress',
        value,
        `The address is ${String(address.body.addressType)}; the forwarding rule is ${scheme}.`,
      ),
    );
  }
  if (scheme === 'EXTERNAL' && address.body.networkTier !== tier) {
    reject(
      invalidField(
        'resource.networkTier',
        tier,
        `The network tier of the address is ${String(address.body.networkTier)}; it must match the forwarding rule's.`,
      ),
    );
  }
  if (scheme === 'INTERNAL' && address.body.subnetwork !== subnetwork?.body.selfLink) {
    reject(
      invalidField(
        'resource.IPAddress',
        value,
        'The address is in another subnetwork than the forwarding rule.',
      ),
    );
  }
  return { kind: 'address', address };
}

/** Rules already on `ip`: may this one join them? (At DONE time, like Compute.) */
function checkSharing(
  world: World,
  rule: Json,
  ip: string,
  choice: IpChoice,
  subnetwork: StoredResource | undefined,
): void {
  const users =
    rule.loadBalancingScheme === 'INTERNAL' && subnetwork
      ? (internalIpsInUse(world, subnetwork.path).get(ip) ?? [])
      : (externalIpsInUse(world).get(ip) ?? []);
  const rules = users.filter((user) => user.ref.collection === 'forwardingRules');
  const other = users.find(
    (user) => user.ref.collection !== 'forwardingRules' && user.ref.collection !== 'addresses',
  );
  if (other) reject(ipInUse(ip, other.path));
  const first = rules[0];
  if (!first) return;
  if (choice.kind !== 'address') reject(ipInUse(ip, first.path));
  if (rule.loadBalancingScheme === 'INTERNAL') {
    if (choice.address.body.purpose !== 'SHARED_LOADBALANCER_VIP') reject(ipInUse(ip, first.path));
    if (rules.length >= MAX_RULES_PER_SHARED_VIP) reject(ipInUse(ip, first.path));
  }
  const clash = rules.find((existing) => overlap(existing.body, rule));
  if (clash) reject(ipInUse(ip, clash.path));
}

export function insertForwardingRule(world: World, project: string, region: string, input: unknown): Change {
  const raw = requireBody(input);
  const ref = forwardingRuleRef(project, region, checkName(raw.name, 'resource.name'));
  const id = world.ids.take();
  const creationTimestamp = world.now();
  return {
    operationType: 'insert',
    target: ref,
    targetId: id,
    isInsert: true,
    quota: { metric: 'FORWARDING_RULES', region },
    run(phase) {
      const body = structuredClone(raw);
      for (const key of SERVER_FIELDS) delete body[key];
      const scheme =
        optionalString(body, 'loadBalancingScheme', 'resource.loadBalancingScheme') ?? 'EXTERNAL';
      if (scheme !== 'EXTERNAL' && scheme !== 'INTERNAL') {
        reject(
          notSimulated(`loadBalancingScheme ${scheme} (only passthrough load balancing: EXTERNAL, INTERNAL)`),
        );
      }
      body.loadBalancingScheme = scheme;
      if (body.target !== undefined) {
        reject(
          notSimulated(
            'forwarding rules with a target (target pools, target instances, proxies); use backendService',
          ),
        );
      }
      const version = optionalString(body, 'ipVersion', 'resource.ipVersion');
      if (version !== undefined && version !== 'IPV4')
        reject(notSimulated(`ipVersion ${version} (IPv4 only)`));
      const protocol =
        optionalEnum(
          body,
          'IPProtocol',
          'resource.IPProtocol',
          ['TCP', 'UDP', 'L3_DEFAULT'] as const,
          'gcp-sim simulates IPProtocol TCP, UDP and L3_DEFAULT.',
        ) ?? 'TCP';
      body.IPProtocol = protocol;

      if (body.backendService === undefined) reject(requiredField('resource.backendService'));
      const serviceRef = checkReference(
        body.backendService,
        'resource.backendService',
        project,
        'backendServices',
      );
      if (serviceRef.scope.kind !== 'region' || serviceRef.scope.name !== region) {
        reject(
          invalidField(
            'resource.backendService',
            body.backendService,
            `The backend service must be in region ${region}.`,
          ),
        );
      }
      const service = world.store.getRef(serviceRef) ?? reject(notFound(resourcePath(serviceRef)));
      body.backendService = service.body.selfLink;
      if (service.body.loadBalancingScheme !== scheme) {
        reject(
          invalidField(
            'resource.backendService',
            body.backendService,
            `The backend service has load balancing scheme ${String(service.body.loadBalancingScheme)}; the forwarding rule has ${scheme}.`,
          ),
        );
      }
      const expectedProtocol = forwardingProtocolFor(String(service.body.protocol));
      if (protocol !== expectedProtocol) {
        reject(
          invalidField(
            'resource.IPProtocol',
            protocol,
            `The backend service has protocol ${String(service.body.protocol)}, which needs IPProtocol ${expectedProtocol}.`,
          ),
        );
      }
      normalizePorts(body, scheme, protocol);

      let subnetwork: StoredResource | undefined;
      let tier = 'PREMIUM';
      if (scheme === 'EXTERNAL') {
        for (const key of ['network', 'subnetwork', 'allowGlobalAccess']) {
          if (body[key] !== undefined)
            reject(
              invalidField(`resource.${key}`, body[key], 'Only INTERNAL forwarding rules take this field.'),
            );
        }
        tier =
          optionalEnum(body, 'networkTier', 'resource.networkTier', ['PREMIUM', 'STANDARD'] as const) ??
          'PREMIUM';
      } else {
        const given = optionalString(body, 'networkTier', 'resource.networkTier');
        if (given !== undefined && given !== 'PREMIUM') {
          reject(
            invalidField(
              'resource.networkTier',
              given,
              'An INTERNAL forwarding rule has network tier PREMIUM.',
            ),
          );
        }
        const givenNetwork = body.network;
        subnetwork = resolveSubnetwork(world, project, region, body, 'subnetwork');
        if (givenNetwork !== undefined) {
          const networkRef = checkReference(givenNetwork, 'resource.network', project, 'networks');
          if (selfLink(networkRef) !== subnetwork.body.network) {
            reject(invalidField('resource.network', givenNetwork, 'The subnetwork is not in this network.'));
          }
        }
        body.subnetwork = subnetwork.body.selfLink;
        body.network = subnetwork.body.network;
        if (service.body.network !== undefined && service.body.network !== body.network) {
          reject(
            invalidField(
              'resource.network',
              body.network,
              `The backend service is in network '${String(service.body.network)}'.`,
            ),
          );
        }
        optionalBoolean(body, 'allowGlobalAccess', 'resource.allowGlobalAccess');
      }
      body.networkTier = tier;
      const labels = checkLabels(body.labels, 'resource.labels');
      if (Object.keys(labels).length > 0) body.labels = labels;
      else delete body.labels;
      const choice = chooseIp(world, ref, body, scheme, tier, subnetwork);
      checkQuota(world, project, 'FORWARDING_RULES', region, phase);
      if (phase !== 'commit') return;

      let ip: string | undefined;
      if (choice.kind === 'address') ip = String(choice.address.body.address);
      else if (choice.kind === 'literal') ip = choice.ip;
      else ip = subnetwork ? allocateInternalIp(world, subnetwork) : allocateExternalIp(world);
      if (!ip) reject(ipSpaceExhausted(subnetwork ? subnetwork.path : 'the external address pool'));
      body.IPAddress = ip;
      checkSharing(world, body, ip, choice, subnetwork);
      const stored: Json = {
        kind: 'compute#forwardingRule',
        id,
        creationTimestamp,
        ...body,
        labelFingerprint: labelFingerprintOf(labels),
        selfLink: selfLink(ref),
        region: scopeLink(project, ref.scope),
      };
      stored.fingerprint = fingerprintOf(stored);
      const resource: StoredResource = { ref, path: resourcePath(ref), body: stored };
      if (choice.kind === 'address') {
        resource.addressPath = choice.address.path;
        claimAddress(choice.address, String(stored.selfLink));
      }
      world.store.put(resource);
    },
  };
}

export function deleteForwardingRule(world: World, ref: ResourceRef): Change {
  const current = requireResource(world, ref);
  return {
    operationType: 'delete',
    target: ref,
    targetId: String(current.body.id),
    isInsert: false,
    run(phase) {
      const rule = requireResource(world, ref);
      if (phase !== 'commit') return;
      world.store.delete(rule.path);
      if (rule.addressPath) releaseAddress(world, rule.addressPath, String(rule.body.selfLink));
    },
  };
}

/**
 * setLabels (forwarding rules and addresses): the labelFingerprint of the request must be the
 * resource's current one, or Compute answers 412.
 */
export function setLabels(world: World, ref: ResourceRef, input: unknown): Change {
  const body = requireBody(input);
  const current = requireResource(world, ref);
  return {
    operationType: 'setLabels',
    target: ref,
    targetId: String(current.body.id),
    isInsert: false,
    run(phase) {
      const resource = requireResource(world, ref);
      const fingerprint = optionalString(body, 'labelFingerprint', 'resource.labelFingerprint');
      if (fingerprint !== resource.body.labelFingerprint) {
        reject(conditionNotMet('Labels fingerprint either invalid or resource labels have changed'));
      }
      const labels = checkLabels(body.labels, 'resource.labels');
      if (phase !== 'commit') return;
      if (Object.keys(labels).length > 0) resource.body.labels = labels;
      else delete resource.body.labels;
      resource.body.labelFingerprint = labelFingerprintOf(labels);
      if (resource.ref.collection === 'forwardingRules') {
        delete resource.body.fingerprint;
        resource.body.fingerprint = fingerprintOf(resource.body);
      }
    },
  };
}
