// VPC firewall rules (global): insert, get, list, patch, update, delete.
import { invalidField, notFound, reject, requiredField } from '../errors.ts';
import { isAddressOrCidr } from '../ip.ts';
import type { Json } from '../json.ts';
import { GLOBAL, type ResourceRef, resourcePath, selfLink } from '../links.ts';
import {
  checkName,
  checkReference,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalObjectArray,
  optionalStringArray,
} from '../validate.ts';
import { type Change, checkQuota, requireResource, type World } from '../world.ts';
import {
  checkUnchangedName,
  deleteChange,
  type Identity,
  identityOf,
  requireBody,
  type UpdateMode,
  updatedBody,
} from './common.ts';

const SERVER_FIELDS = ['kind', 'id', 'creationTimestamp', 'selfLink'];
const PROTOCOL_NAMES = ['tcp', 'udp', 'icmp', 'esp', 'ah', 'sctp', 'ipip', 'all'];
const PROTOCOLS_WITH_PORTS = ['tcp', 'udp', 'sctp', '6', '17', '132'];
/** "only 100 ports or port ranges can be used in a firewall rule" (cloud-provider-gcp). */
const MAX_PORT_ENTRIES = 100;
const TAG = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const EMAIL = /^[^@\s]+@[^@\s]+$/;

export function firewallRef(project: string, name: string): ResourceRef {
  return { project, scope: GLOBAL, collection: 'firewalls', name };
}

function checkPortText(text: string, field: string): void {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  const low = Number(match?.[1]);
  const high = match?.[2] === undefined ? low : Number(match[2]);
  if (!match || low > 65535 || high > 65535 || high < low) {
    reject(invalidField(field, text, "Must be a port 0-65535 or a range 'low-high'."));
  }
}

function normalizeRules(body: Json, key: 'allowed' | 'denied'): number {
  const rules = optionalObjectArray(body, key, `resource.${key}`);
  if (!rules) return 0;
  let portEntries = 0;
  body[key] = rules.map((rule, index) => {
    const field = `resource.${key}[${index}]`;
    const protocol = rule.IPProtocol;
    if (protocol === undefined) reject(requiredField(`${field}.IPProtocol`));
    const isNumber = typeof protocol === 'string' && /^\d+$/.test(protocol) && Number(protocol) <= 255;
    if (typeof protocol !== 'string' || (!PROTOCOL_NAMES.includes(protocol) && !isNumber)) {
      reject(
        invalidField(
          `${field}.IPProtocol`,
          protocol,
          `Must be one of ${PROTOCOL_NAMES.join(', ')} or a protocol number.`,
        ),
      );
    }
    const ports = optionalStringArray(rule, 'ports', `${field}.ports`) ?? [];
    if (ports.length > 0 && !PROTOCOLS_WITH_PORTS.includes(protocol)) {
      reject(
        invalidField(
          `${field}.ports`,
          ports.join(','),
          `Ports are only allowed for tcp, udp and sctp, not ${protocol}.`,
        ),
      );
    }
    ports.forEach((port, portIndex) => {
      checkPortText(port, `${field}.ports[${portIndex}]`);
    });
    portEntries += ports.length;
    return ports.length > 0 ? { IPProtocol: protocol, ports } : { IPProtocol: protocol };
  });
  return portEntries;
}

function checkEach(
  body: Json,
  key: string,
  check: (value: string) => boolean,
  why: string,
): string[] | undefined {
  const values = optionalStringArray(body, key, `resource.${key}`);
  values?.forEach((value, index) => {
    if (!check(value)) reject(invalidField(`resource.${key}[${index}]`, value, why));
  });
  if (values && values.length === 0) delete body[key];
  return values && values.length > 0 ? values : undefined;
}

function normalize(world: World, input: Json, ref: ResourceRef, identity: Identity): Json {
  const body = structuredClone(input);
  for (const key of SERVER_FIELDS) delete body[key];
  checkName(body.name, 'resource.name');
  const networkRef = checkReference(
    body.network ?? 'global/networks/default',
    'resource.network',
    ref.project,
    'networks',
  );
  const network = world.store.getRef(networkRef) ?? reject(notFound(resourcePath(networkRef)));
  body.network = network.body.selfLink;
  body.priority = optionalInteger(body, 'priority', 'resource.priority', 0, 65535) ?? 1000;
  const direction =
    optionalEnum(body, 'direction', 'resource.direction', ['INGRESS', 'EGRESS'] as const) ?? 'INGRESS';
  body.direction = direction;
  const allowedPorts = normalizeRules(body, 'allowed');
  const deniedPorts = normalizeRules(body, 'denied');
  const hasAllowed = Array.isArray(body.allowed) && body.allowed.length > 0;
  const hasDenied = Array.isArray(body.denied) && body.denied.length > 0;
  if (hasAllowed === hasDenied) {
    reject(
      invalidField(
        'resource.allowed',
        '',
        'A firewall rule has either allowed or denied rules, not both and not none.',
      ),
    );
  }
  if (!hasAllowed) delete body.allowed;
  if (!hasDenied) delete body.denied;
  if (allowedPorts + deniedPorts > MAX_PORT_ENTRIES) {
    reject(
      invalidField(
        'resource.allowed',
        allowedPorts + deniedPorts,
        `At most ${MAX_PORT_ENTRIES} ports or port ranges per firewall rule.`,
      ),
    );
  }
  const cidr = 'Must be an IP address or a CIDR range.';
  const sourceRanges = checkEach(body, 'sourceRanges', isAddressOrCidr, cidr);
  const destinationRanges = checkEach(body, 'destinationRanges', isAddressOrCidr, cidr);
  const sourceTags = checkEach(
    body,
    'sourceTags',
    (tag) => TAG.test(tag),
    'Must be a network tag (RFC 1035).',
  );
  const targetTags = checkEach(
    body,
    'targetTags',
    (tag) => TAG.test(tag),
    'Must be a network tag (RFC 1035).',
  );
  const sourceAccounts = checkEach(
    body,
    'sourceServiceAccounts',
    (email) => EMAIL.test(email),
    'Must be a service account email.',
  );
  const targetAccounts = checkEach(
    body,
    'targetServiceAccounts',
    (email) => EMAIL.test(email),
    'Must be a service account email.',
  );
  if (targetTags && targetAccounts) {
    reject(
      invalidField(
        'resource.targetServiceAccounts',
        targetAccounts.join(','),
        'targetTags and targetServiceAccounts cannot both be set.',
      ),
    );
  }
  if ((sourceAccounts && (sourceTags || targetTags)) || (targetAccounts && sourceTags)) {
    reject(
      invalidField(
        'resource.sourceServiceAccounts',
        (sourceAccounts ?? targetAccounts ?? []).join(','),
        'Service accounts and network tags cannot be mixed in one firewall rule.',
      ),
    );
  }
  if (direction === 'INGRESS') {
    if (!sourceRanges && !sourceTags && !sourceAccounts) reject(requiredField('resource.sourceRanges'));
  } else {
    if (sourceTags || sourceAccounts) {
      reject(
        invalidField('resource.sourceTags', '', 'An EGRESS rule takes no source tags or service accounts.'),
      );
    }
    if (!destinationRanges) reject(requiredField('resource.destinationRanges'));
  }
  body.disabled = optionalBoolean(body, 'disabled', 'resource.disabled') ?? false;
  return {
    kind: 'compute#firewall',
    id: identity.id,
    creationTimestamp: identity.creationTimestamp,
    ...body,
    selfLink: selfLink(ref),
  };
}

export function insertFirewall(world: World, project: string, input: unknown): Change {
  const body = requireBody(input);
  const ref = firewallRef(project, checkName(body.name, 'resource.name'));
  const identity: Identity = { id: world.ids.take(), creationTimestamp: world.now() };
  return {
    operationType: 'insert',
    target: ref,
    targetId: identity.id,
    isInsert: true,
    quota: { metric: 'FIREWALLS' },
    run(phase) {
      const normalized = normalize(world, body, ref, identity);
      checkQuota(world, project, 'FIREWALLS', undefined, phase);
      if (phase === 'commit') world.store.put({ ref, path: resourcePath(ref), body: normalized });
    },
  };
}

export function updateFirewall(world: World, ref: ResourceRef, input: unknown, mode: UpdateMode): Change {
  const patch = requireBody(input);
  const current = requireResource(world, ref);
  return {
    operationType: mode,
    target: ref,
    targetId: String(current.body.id),
    isInsert: false,
    run(phase) {
      const resource = requireResource(world, ref);
      const merged = updatedBody(resource.body, patch, mode);
      checkUnchangedName(merged, ref);
      const normalized = normalize(world, merged, ref, identityOf(resource));
      if (phase === 'commit') resource.body = normalized;
    },
  };
}

export function deleteFirewall(world: World, ref: ResourceRef): Change {
  return deleteChange(world, ref, 'firewall', []);
}
