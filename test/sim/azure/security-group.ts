// Microsoft.Network/networkSecurityGroups and their securityRules: rule validation (protocol, access,
// direction, priority 100-4096, address prefixes and port ranges in ARM's singular/plural forms), the rule and
// address-prefix limits, and priority conflicts, which ARM reports through the async operation rather than
// the PUT response. Reads the store, never writes it.

import { parseIp, parsePrefix } from './addresses.ts';
import {
  type ArmError,
  invalidProperty,
  isArmError,
  missingProperty,
  notModelled,
  securityPrefixLimit,
  securityRuleConflict,
  securityRuleInvalidAddressPrefix,
  securityRuleInvalidPortRange,
  securityRuleInvalidPriority,
  securityRuleLimit,
  securityRuleUnsupportedValue,
} from './arm-errors.ts';
import { childResourceId, idKey } from './arm-ids.ts';
import {
  arrayAt,
  isJsonObject,
  type JsonObject,
  type JsonValue,
  objectAt,
  present,
  stringAt,
} from './json.ts';
import {
  type NamedChild,
  type PreparedWrite,
  readChildren,
  readEnum,
  readEnvelope,
  type WriteContext,
} from './resource-common.ts';
import type { ResourceRecord, SimStore } from './store.ts';

const SERVICE_TAG = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$/;

export function prepareSecurityGroup(input: JsonObject, ctx: WriteContext): PreparedWrite | ArmError {
  const envelope = readEnvelope(input, ctx);
  if (isArmError(envelope)) return envelope;
  const children = readChildren(envelope.properties, 'securityRules', ctx.id, 'securityRules', 'properties');
  if (isArmError(children)) return children;
  if (children.length > ctx.limits.securityRulesPerGroup)
    return securityRuleLimit(ctx.limits.securityRulesPerGroup);
  const rules: JsonObject[] = [];
  for (const [index, child] of children.entries()) {
    const rule = normalizeRule(child, `properties.securityRules[${index}].properties`);
    if (isArmError(rule)) return rule;
    rules.push(rule);
  }
  const limit = ctx.limits.addressPrefixesPerSecurityGroup;
  for (const side of ['source', 'destination'] as const) {
    const count = rules.reduce((n, rule) => n + prefixCount(rule, side), 0);
    if (count > limit)
      return securityPrefixLimit(ctx.id, count, side === 'source' ? 'Source' : 'Destination', limit);
  }
  const properties: JsonObject = { ...envelope.properties, securityRules: rules };
  for (const key of [
    'provisioningState',
    'resourceGuid',
    'defaultSecurityRules',
    'subnets',
    'networkInterfaces',
    'flowLogs',
  ]) {
    delete properties[key];
  }
  const write: PreparedWrite = {
    body: { location: envelope.location, tags: envelope.tags, properties },
    location: envelope.location,
  };
  const conflict = priorityConflict(rules);
  if (conflict) write.deferredError = conflict;
  return write;
}

function prefixCount(rule: JsonObject, side: 'source' | 'destination'): number {
  const p = objectAt(rule, 'properties') ?? {};
  const plural = arrayAt(p, `${side}AddressPrefixes`) ?? [];
  return plural.length > 0 ? plural.length : stringAt(p, `${side}AddressPrefix`) ? 1 : 0;
}

function priorityConflict(rules: JsonObject[]): ArmError | undefined {
  const seen = new Map<string, string>();
  for (const rule of rules) {
    const p = objectAt(rule, 'properties') ?? {};
    const key = `${stringAt(p, 'direction')}|${p.priority}`;
    const name = stringAt(rule, 'name') ?? '';
    const other = seen.get(key);
    if (other) return securityRuleConflict(other, name);
    seen.set(key, name);
  }
  return undefined;
}

function isPrefix(text: string): boolean {
  if (text.includes('/')) return !('error' in parsePrefix(text));
  return parseIp(text) !== undefined;
}

function isPortRange(text: string): boolean {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!match) return false;
  const low = Number(match[1]);
  const high = match[2] === undefined ? low : Number(match[2]);
  return low <= high && high <= 65535;
}

/**
 * One of `<side><Kind>` (a string) or `<side><Kind>s` (a non-empty array), as ARM requires. Singular values may
 * be '*' or a service tag; plural ones only addresses (or port ranges).
 */
function readPair(
  p: JsonObject,
  side: 'source' | 'destination',
  kind: 'AddressPrefix' | 'PortRange',
  path: string,
  ruleId: string,
): { single?: string; plural: string[] } | ArmError {
  const singleKey = `${side}${kind}`;
  const pluralKey = kind === 'AddressPrefix' ? `${side}AddressPrefixes` : `${side}PortRanges`;
  const single = p[singleKey];
  const plural = p[pluralKey];
  const hasSingle = typeof single === 'string' && single !== '';
  const hasPlural = Array.isArray(plural) && plural.length > 0;
  if (present(single) && typeof single !== 'string')
    return invalidProperty(`${path}.${singleKey}`, 'must be a string');
  if (present(plural) && !Array.isArray(plural))
    return invalidProperty(`${path}.${pluralKey}`, 'must be an array');
  if (hasSingle && hasPlural) {
    return invalidProperty(`${path}.${singleKey}`, `cannot be given together with ${pluralKey}`);
  }
  if (!hasSingle && !hasPlural) return missingProperty(`${path}.${singleKey}`);
  const valid = kind === 'AddressPrefix' ? isPrefix : isPortRange;
  const invalid = kind === 'AddressPrefix' ? securityRuleInvalidAddressPrefix : securityRuleInvalidPortRange;
  if (hasSingle) {
    const value = single as string;
    const ok = value === '*' || valid(value) || (kind === 'AddressPrefix' && SERVICE_TAG.test(value));
    return ok ? { single: value, plural: [] } : invalid(ruleId, value);
  }
  const values: string[] = [];
  for (const item of plural as JsonValue[]) {
    if (typeof item !== 'string') return invalidProperty(`${path}.${pluralKey}`, 'must list strings');
    if (item === '*' || (kind === 'AddressPrefix' && !valid(item) && SERVICE_TAG.test(item))) {
      const parameter = `${side === 'source' ? 'Source' : 'Destination'}${kind}`;
      return securityRuleUnsupportedValue(ruleId, parameter, item);
    }
    if (!valid(item)) return invalid(ruleId, item);
    values.push(item);
  }
  return { plural: values };
}

/** A rule in ARM's stored form (both singular and plural fields present, the unused plural empty). */
function normalizeRule(child: NamedChild, path: string): JsonObject | ArmError {
  const p = child.properties;
  const protocol = readEnum(p, 'protocol', path, ['Tcp', 'Udp', 'Icmp', 'Esp', 'Ah', '*']);
  if (isArmError(protocol)) return protocol;
  if (!protocol) return missingProperty(`${path}.protocol`);
  const access = readEnum(p, 'access', path, ['Allow', 'Deny']);
  if (isArmError(access)) return access;
  if (!access) return missingProperty(`${path}.access`);
  const direction = readEnum(p, 'direction', path, ['Inbound', 'Outbound']);
  if (isArmError(direction)) return direction;
  if (!direction) return missingProperty(`${path}.direction`);
  const priority = p.priority;
  if (!present(priority)) return missingProperty(`${path}.priority`);
  if (typeof priority !== 'number' || !Number.isInteger(priority))
    return invalidProperty(`${path}.priority`, 'must be a whole number');
  if (priority < 100 || priority > 4096) return securityRuleInvalidPriority(child.id, priority);
  for (const side of ['source', 'destination'] as const) {
    const groups = p[`${side}ApplicationSecurityGroups`];
    if (Array.isArray(groups) && groups.length > 0)
      return notModelled('application security groups in security rules');
  }
  const description = p.description;
  if (present(description) && (typeof description !== 'string' || description.length > 140)) {
    return invalidProperty(`${path}.description`, 'must be a string of at most 140 characters');
  }
  const properties: JsonObject = { protocol, access, direction, priority };
  for (const side of ['source', 'destination'] as const) {
    for (const kind of ['AddressPrefix', 'PortRange'] as const) {
      const pair = readPair(p, side, kind, path, child.id);
      if (isArmError(pair)) return pair;
      if (pair.single !== undefined) properties[`${side}${kind}`] = pair.single;
      properties[kind === 'AddressPrefix' ? `${side}AddressPrefixes` : `${side}PortRanges`] = pair.plural;
    }
  }
  if (typeof description === 'string') properties.description = description;
  return { name: child.name, id: child.id, properties };
}

/** Azure's six default rules, present in every NSG. */
function defaultRules(nsgId: string, etag: string): JsonObject[] {
  const rule = (
    name: string,
    priority: number,
    direction: string,
    access: string,
    source: string,
    destination: string,
    description: string,
  ): JsonObject => ({
    name,
    id: childResourceId(nsgId, 'defaultSecurityRules', name),
    etag,
    type: 'Microsoft.Network/networkSecurityGroups/defaultSecurityRules',
    properties: {
      provisioningState: 'Succeeded',
      description,
      protocol: '*',
      sourcePortRange: '*',
      destinationPortRange: '*',
      sourceAddressPrefix: source,
      destinationAddressPrefix: destination,
      access,
      priority,
      direction,
      sourcePortRanges: [],
      destinationPortRanges: [],
      sourceAddressPrefixes: [],
      destinationAddressPrefixes: [],
    },
  });
  return [
    rule(
      'AllowVnetInBound',
      65000,
      'Inbound',
      'Allow',
      'VirtualNetwork',
      'VirtualNetwork',
      'Allow inbound traffic from all VMs in VNET',
    ),
    rule(
      'AllowAzureLoadBalancerInBound',
      65001,
      'Inbound',
      'Allow',
      'AzureLoadBalancer',
      '*',
      'Allow inbound traffic from azure load balancer',
    ),
    rule('DenyAllInBound', 65500, 'Inbound', 'Deny', '*', '*', 'Deny all inbound traffic'),
    rule(
      'AllowVnetOutBound',
      65000,
      'Outbound',
      'Allow',
      'VirtualNetwork',
      'VirtualNetwork',
      'Allow outbound traffic from all VMs to all VMs in VNET',
    ),
    rule(
      'AllowInternetOutBound',
      65001,
      'Outbound',
      'Allow',
      '*',
      'Internet',
      'Allow outbound traffic from all VMs to Internet',
    ),
    rule('DenyAllOutBound', 65500, 'Outbound', 'Deny', '*', '*', 'Deny all outbound traffic'),
  ];
}

function renderSecurityRule(record: ResourceRecord, rule: JsonObject): JsonObject {
  return {
    ...rule,
    etag: record.etag,
    type: 'Microsoft.Network/networkSecurityGroups/securityRules',
    properties: { ...(objectAt(rule, 'properties') ?? {}), provisioningState: record.provisioningState },
  };
}

export function renderSecurityGroup(store: SimStore, record: ResourceRecord): JsonObject {
  const properties = objectAt(record.body, 'properties') ?? {};
  const rules = (arrayAt(properties, 'securityRules') ?? [])
    .filter(isJsonObject)
    .map((r) => renderSecurityRule(record, r));
  const rendered: JsonObject = {
    ...properties,
    securityRules: rules,
    defaultSecurityRules: defaultRules(record.id, record.etag),
    provisioningState: record.provisioningState,
    resourceGuid: record.resourceGuid,
  };
  const subnets = store.usage().securityGroupSubnets.get(idKey(record.id));
  if (subnets && subnets.length > 0) rendered.subnets = subnets.map((id) => ({ id }));
  return {
    name: record.name,
    id: record.id,
    etag: record.etag,
    type: 'Microsoft.Network/networkSecurityGroups',
    location: record.location,
    tags: record.body.tags ?? {},
    properties: rendered,
  };
}
